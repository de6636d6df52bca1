"""Neural machine translation (Section 5, Figure 7): corpus preparation, a word-level KD criterion
for fairseq (loaded with ``--user-dir``), the teacher's top-k export, and fairseq runs."""

from pathlib import Path

# fairseq imports this folder by name when given --user-dir: it allows the types of fairseq's
# checkpoints in weights-only loads and registers the word_kd criterion.
USER_DIR = str(Path(__file__).parent / "fairseq_plugin")

LANGS = ("de", "en")  # source, target
SPLITS = ("train", "valid", "test")
