"""fairseq --user-dir package: importing it registers lskd's ``word_kd`` criterion."""

import lskd.nmt.word_kd  # noqa: F401
