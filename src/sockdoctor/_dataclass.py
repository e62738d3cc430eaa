"""``dataclass`` with the generated methods compiled in one go.

Python before 3.13 compiles each method a dataclass generates on its own (``__init__``,
``__repr__``, ``__eq__``, ``__hash__``, and for frozen classes ``__setattr__``/``__delattr__``):
about 1.5 ms per frozen class here, 80 ms of every sockdoctor start for its 55 classes. This
decorator lets ``dataclasses`` work out the fields (so ``fields()``, ``replace()`` and ``asdict()``
work as usual) and adds the methods without compiling anything: ``__eq__``/``__hash__`` compare
an ``attrgetter`` tuple, ``__repr__`` and the frozen ``__setattr__`` are shared closures, and
``__init__`` (the one whose speed matters) is compiled as dataclasses writes it, on its first call.
Python 3.13 compiles a class's methods in one go, so there (and for ``slots=True``) this is plain
``dataclasses.dataclass``.
"""
from __future__ import annotations

import dataclasses
import operator
import sys

_NATIVE = sys.version_info >= (3, 13)


def dataclass(cls=None, /, *, frozen: bool = False, slots: bool = False, eq: bool = True):
    def wrap(c):
        if _NATIVE or slots or not eq or _unusual(c):
            return dataclasses.dataclass(c, frozen=frozen, slots=slots, eq=eq)
        return _build(c, frozen, eq)
    return wrap if cls is None else wrap(cls)


_HASH = "_sockdoctor_hash"  # a frozen instance's cached hash, in its __dict__
_MADE = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__")


def _unusual(cls) -> bool:
    """What the fast path does not model, left to the stdlib: dataclass bases (frozen-ness is
    checked across them), methods written in the class body, init=False and keyword-only fields."""
    if any(dataclasses.is_dataclass(base) for base in cls.__mro__[1:]):
        return True
    if any(name in cls.__dict__ for name in _MADE):
        return True
    if any("KW_ONLY" in str(a) for a in cls.__dict__.get("__annotations__", {}).values()):
        return True
    return any(isinstance(v, dataclasses.Field) and (not v.init or v.kw_only is True)
               for v in cls.__dict__.values())


def _build(cls, frozen: bool, eq: bool):
    has_doc = cls.__dict__.get("__doc__") is not None
    if not has_doc:
        cls.__doc__ = cls.__name__  # spares dataclasses an inspect.signature() of the placeholder __init__
    dataclasses.dataclass(cls, init=False, repr=False, eq=False)
    if not has_doc:
        cls.__doc__ = None
    fields = dataclasses.fields(cls)
    shown = tuple(f.name for f in fields if f.repr)

    def __repr__(self):
        return f"{self.__class__.__qualname__}(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in shown) + ")"
    cls.__init__ = _lazy_init(cls, fields, frozen)
    cls.__repr__ = __repr__
    if eq:
        compared = _getter(f.name for f in fields if f.compare)

        def __eq__(self, other):
            if other.__class__ is self.__class__:
                return compared(self) == compared(other)
            return NotImplemented
        cls.__eq__ = __eq__
        if not frozen:
            cls.__hash__ = None  # as dataclasses: mutable and comparable means unhashable
    if frozen:
        hashed = _getter(f.name for f in fields if (f.hash if f.hash is not None else f.compare))
        names = frozenset(f.name for f in fields)

        def __hash__(self):
            # frozen: the hash is computed once (the analysis keys its caches on walks of Nodes
            # and on Creds, tens of thousands of times per run)
            try:
                return self.__dict__[_HASH]
            except KeyError:
                h = self.__dict__[_HASH] = hash(hashed(self))
                return h

        def __getstate__(self):  # another process hashes strings differently
            state = self.__dict__
            return {k: v for k, v in state.items() if k != _HASH} if _HASH in state else state

        def __setattr__(self, name, value):
            if type(self) is cls or name in names:
                raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
            super(cls, self).__setattr__(name, value)

        def __delattr__(self, name):
            if type(self) is cls or name in names:
                raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
            super(cls, self).__delattr__(name)
        cls.__hash__, cls.__setattr__, cls.__delattr__ = __hash__, __setattr__, __delattr__
        if "__getstate__" not in cls.__dict__:
            cls.__getstate__ = __getstate__
            __getstate__.__qualname__ = f"{cls.__qualname__}.__getstate__"
    for name in ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__"):
        fn = cls.__dict__.get(name)
        if fn is not None:
            fn.__qualname__ = f"{cls.__qualname__}.{name}"
    cls.__dataclass_params__ = _params(frozen, eq)
    return cls


def _getter(names):
    """The tuple of these attributes (attrgetter gives a bare value for one name, nothing for none)."""
    names = tuple(names)
    if len(names) > 1:
        return operator.attrgetter(*names)
    if names:
        one = operator.attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()


def _lazy_init(cls, fields, frozen: bool):
    """An __init__ that compiles the real one (as dataclasses writes it) on the first call: most
    runs construct only some of the classes."""
    def __init__(self, *args, **kwargs):
        real = _compile_init(cls, fields, frozen)
        if cls.__dict__.get("__init__") is __init__:
            cls.__init__ = real
        real(self, *args, **kwargs)
    return __init__


def _compile_init(cls, fields, frozen: bool):
    env: dict = {"MISSING": dataclasses.MISSING, "object_setattr": object.__setattr__}
    params, body = [], []
    for f in fields:
        if f.default is not dataclasses.MISSING:
            env[f"d_{f.name}"] = f.default
            params.append(f"{f.name}=d_{f.name}")
            value = f.name
        elif f.default_factory is not dataclasses.MISSING:
            env[f"f_{f.name}"] = f.default_factory
            params.append(f"{f.name}=MISSING")
            value = f"f_{f.name}() if {f.name} is MISSING else {f.name}"
        else:
            params.append(f.name)
            value = f.name
        body.append(f"object_setattr(self, {f.name!r}, {value})" if frozen else f"self.{f.name} = {value}")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    src = "\n    ".join([f"def __init__(self, {', '.join(params)}):", *(body or ["pass"])])
    exec(src, env)  # noqa: S102 -- our own generated source, as dataclasses does
    init = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _params(frozen: bool, eq: bool):
    try:
        return dataclasses._DataclassParams(True, True, eq, False, False, frozen)  # 3.11's signature
    except TypeError:  # 3.12: more fields
        return dataclasses._DataclassParams(True, True, eq, False, False, frozen, True, False, False, False)
