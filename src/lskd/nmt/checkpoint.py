"""fairseq checkpoints loaded without running code from them.

fairseq (checkpoint_utils.load_checkpoint_to_cpu) calls ``torch.load`` without ``weights_only``,
which torch >= 2.6 takes as ``weights_only=True``: a restricted unpickler that builds tensors and
plain containers and refuses every other type, so a crafted file cannot run code. fairseq's own
checkpoints hold five other types; ``allow_fairseq_types`` allows those five and nothing else. It
runs in our own commands (``load_teacher``) and, through the ``--user-dir`` plugin, inside
fairseq-train and fairseq-generate, which import the plugin before they load any checkpoint
(resume included).
"""

import argparse
import pickle
import zipfile
from pathlib import Path

import numpy as np
import torch
from numpy._core.multiarray import _reconstruct

from lskd.data.errors import DataError

# Checked on this project's model.pt and checkpoint_last.pt (torch 2.14, numpy 2): the run's
# config keeps the model's arguments as a Namespace; the validation BLEU meters keep their n-gram
# counts as int64 numpy arrays (_reconstruct, ndarray, dtype and its class Int64DType).
FAIRSEQ_TYPES = (argparse.Namespace, _reconstruct, np.ndarray, np.dtype, np.dtypes.Int64DType)


def allow_fairseq_types() -> None:
    """Let ``torch.load(weights_only=True)`` build the types fairseq stores in this process."""
    torch.serialization.add_safe_globals(list(FAIRSEQ_TYPES))


def check_fairseq_checkpoint(path: str) -> None:
    """One clear line for a file that fairseq-train did not write, found by reading its pickle's
    imports without unpickling it; the load itself refuses anything else (``refused``)."""
    if not Path(path).is_file():
        raise DataError(f"{path}: checkpoint missing (train the NMT teacher first)")
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not a fairseq checkpoint (not a torch.save archive); retrain it")
    allow_fairseq_types()
    try:
        imports = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except (ValueError, RuntimeError, pickle.UnpicklingError) as err:
        raise DataError(f"{path}: not a fairseq checkpoint ({err}); retrain it") from None
    if imports:
        raise DataError(
            f"{path}: refused, nothing loaded: it would call {', '.join(sorted(imports))}, which"
            " no fairseq checkpoint holds (a file that runs code when loaded); delete it, retrain"
        )


def refused(path: str, err: pickle.UnpicklingError) -> DataError:
    """The one line for a file that torch's weights-only unpickler refused."""
    text = str(err)
    reason = text.partition("WeightsUnpickler error:")[2].strip().split("\n")[0] or text
    return DataError(f"{path}: refused, nothing loaded: {reason.strip()}; delete it and retrain")
