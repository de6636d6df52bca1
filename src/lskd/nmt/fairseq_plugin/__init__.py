"""fairseq --user-dir package, imported by fairseq-train and fairseq-generate before they load any
checkpoint: it allows the types of fairseq's checkpoints in their weights-only ``torch.load``
(lskd.nmt.checkpoint) and registers lskd's ``word_kd`` criterion."""

import lskd.nmt.word_kd  # noqa: F401
from lskd.nmt.checkpoint import allow_fairseq_types

allow_fairseq_types()
