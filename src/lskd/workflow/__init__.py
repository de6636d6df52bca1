"""What the Snakefile needs from the config, in rooms of one idea each:

- ``config_file``: reading a config (file errors, renamed keys, the schema and its defaults);
- ``checks``: what a schema cannot check (references, data, schedules, seeds, partition);
- ``paths``: every run folder and file of results/ the rules read or write;
- ``arguments``: what a rule passes its ``lskd`` command (resources, code fingerprint, the
  recipe and objective nodes, a run's identity);
- ``targets``: the file lists the rules gather, and each paper output's inputs.
"""
