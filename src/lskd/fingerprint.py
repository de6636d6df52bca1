"""Code fingerprints: which ``lskd`` code a command can run, hashed so that only behaviour counts.

A rule's fingerprint (a Snakemake param, so a change reruns the rule and what depends on it) is
the hash of the modules its ``lskd <command>`` can reach: ``lskd.cli`` without the other commands'
handlers, and every ``lskd`` module imported from there, transitively. Each module is hashed as its
syntax tree without docstrings; comments are not in the tree, so neither kind of edit counts.
Files are read from the source folder given (the workflow's own ``src/``), never imported.
"""

import ast
import functools
import hashlib
from pathlib import Path

PACKAGE = "lskd"


def command_fingerprint(src: str | Path, command: str, extra_modules: tuple[str, ...] = ()) -> str:
    """The code ``lskd <command>`` runs (its handler is ``cli.<command with - as _>``), with
    ``extra_modules`` that it loads by name (fairseq's ``--user-dir`` plugin)."""
    return _command_fingerprint(str(Path(src).resolve()), command, tuple(extra_modules))


def module_fingerprint(src: str | Path, modules: tuple[str, ...]) -> str:
    """The code of ``modules`` and every ``lskd`` module they import, transitively."""
    src = str(Path(src).resolve())
    reached = set()
    for name in modules:
        reached |= _reachable(src, name)
    return _digest(src, reached)


def command_modules(src: str | Path, command: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The ``lskd`` modules ``lskd <command>`` can reach, besides the CLI itself."""
    return sorted(_command_parts(str(Path(src).resolve()), command, tuple(extra))[1])


@functools.cache
def _command_fingerprint(src: str, command: str, extra: tuple[str, ...]) -> str:
    own, reached = _command_parts(src, command, extra)
    digest = hashlib.sha256()
    for node in own.body:  # the CLI's statements, each hashed once for every command
        digest.update(_node_digest(src, node))
    digest.update(_digest(src, reached).encode())
    return digest.hexdigest()[:16]


def _command_parts(src: str, command: str, extra: tuple[str, ...]) -> tuple[ast.Module, set]:
    """The CLI without the other commands' handlers (so that a change to one command reruns only
    its rules), and the modules reached from it."""
    handler = command.replace("-", "_")
    tree = _tree(src, f"{PACKAGE}.cli")
    handlers = _command_handlers(src)
    if handler not in handlers:
        raise KeyError(f"lskd has no command {command!r} (no cli.{handler})")
    others = handlers - {handler}
    own = ast.Module([n for n in tree.body if getattr(n, "name", None) not in others], [])
    reached = set()
    for name in _imports(own, f"{PACKAGE}.cli", src) | set(extra):
        reached |= _reachable(src, name)
    reached.discard(f"{PACKAGE}.cli")
    return own, reached


@functools.cache
def _command_handlers(src: str) -> frozenset[str]:
    """The CLI's top-level functions named after a command (``train_teacher`` for
    "train-teacher")."""
    tree = _tree(src, f"{PACKAGE}.cli")
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    return frozenset(name for name in functions if name.replace("_", "-") in strings)


def _path(src: str, module: str) -> Path | None:
    base = Path(src, *module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@functools.cache
def _tree(src: str, module: str) -> ast.Module:
    """The module's syntax tree without docstrings."""
    tree = ast.parse(_path(src, module).read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return tree


def _imports(tree: ast.AST, module: str, src: str) -> set[str]:
    """The ``lskd`` modules (and their parent packages) that ``tree`` imports."""
    is_package = _path(src, module).name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            # ``from lskd.x import y``: y may be a submodule or a name defined in lskd.x
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] != PACKAGE:
                continue
            for i in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b first
                if _path(src, ".".join(parts[:i])):
                    found.add(".".join(parts[:i]))
    return found


@functools.cache
def _module_imports(src: str, module: str) -> frozenset[str]:
    return frozenset(_imports(_tree(src, module), module, src))


@functools.cache
def _reachable(src: str, module: str) -> frozenset[str]:
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if _path(src, name) is None:
            raise KeyError(f"{name} is not a module under {src}")
        seen.add(name)
        todo.extend(_module_imports(src, name) - seen)
    return frozenset(seen)


def _digest(src: str, modules: set[str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(modules):
        digest.update(name.encode() + b"\0" + _module_digest(src, name) + b"\0")
    return digest.hexdigest()[:16]


@functools.cache
def _node_digest(src: str, node: ast.AST) -> bytes:  # nodes of the cached trees: by identity
    return hashlib.sha256(ast.dump(node).encode()).digest()


@functools.cache
def _module_digest(src: str, module: str) -> bytes:
    return hashlib.sha256(ast.dump(_tree(src, module)).encode()).digest()
