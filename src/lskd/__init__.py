"""lskd: reproduce Shen et al. (ICLR 2021), label smoothing vs knowledge distillation."""
