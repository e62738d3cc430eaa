"""``dataclass`` without the start-up cost of ``dataclasses``.

Python before 3.13 compiles each method a dataclass generates on its own (``__init__``,
``__repr__``, ``__eq__``, ``__hash__``, and for frozen classes ``__setattr__``/``__delattr__``):
about 1.5 ms per frozen class here, 80 ms of every sockdoctor start for its 55 classes. And
importing ``dataclasses`` imports ``inspect`` (8-10 ms), then working out each class's fields costs
another 0.1-0.2 ms. This decorator reads the fields from the class body itself and adds the methods
without compiling anything: ``__eq__``/``__hash__`` compare an ``attrgetter`` tuple, ``__repr__`` and
the frozen ``__setattr__`` are shared closures, and ``__init__`` (the one whose speed matters) is
compiled as dataclasses writes it, on its first call. ``__dataclass_fields__`` and
``__dataclass_params__`` are the stdlib's own objects, made (importing ``dataclasses``) the first
time anything asks for them, so ``dataclasses.fields()``, ``replace()``, ``asdict()`` and
``is_dataclass()`` work as usual. ``field``, ``replace`` and ``field_values`` here are the ones to
import in sockdoctor.

What the fast path does not model goes to ``dataclasses.dataclass`` unchanged: Python 3.13 and
later (which compile a class's methods in one go), ``eq=False``, dataclass bases,
methods written in the class body, ``init=False`` and keyword-only fields, ClassVar/InitVar.
"""
from __future__ import annotations

import operator
import sys

_NATIVE = sys.version_info >= (3, 13)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()
_HASH = "_sockdoctor_hash"  # a frozen instance's cached hash, in its __dict__
_SPECS = "_sockdoctor_fields"  # a fast class's fields, as _Field, in field order
_MADE = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__")
_FIELD_OPTIONS = ("default", "default_factory", "init", "repr", "hash", "compare", "metadata", "kw_only")


class _Field:
    """What ``field()`` returns and what a fast class keeps of each field."""
    __slots__ = ("name", "type", *_FIELD_OPTIONS)

    def __init__(self, default=MISSING, default_factory=MISSING, init=True, repr=True, hash=None,
                 compare=True, metadata=None, kw_only=MISSING):
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = self.type = None
        self.default, self.default_factory, self.init, self.repr = default, default_factory, init, repr
        self.hash, self.compare, self.metadata, self.kw_only = hash, compare, metadata, kw_only


def field(*, default=MISSING, default_factory=MISSING, init=True, repr=True, hash=None, compare=True,
          metadata=None, kw_only=MISSING):
    """``dataclasses.field``, without importing ``dataclasses`` (except where the stdlib builds the class)."""
    if _NATIVE:
        import dataclasses

        return dataclasses.field(**_stdlib_options(_Field(default, default_factory, init, repr, hash, compare,
                                                          metadata, kw_only), dataclasses))
    return _Field(default, default_factory, init, repr, hash, compare, metadata, kw_only)


def replace(obj, /, **changes):
    """``dataclasses.replace``; for a fast class without importing ``dataclasses``."""
    specs = getattr(type(obj), _SPECS, None)
    if specs is None:
        import dataclasses

        return dataclasses.replace(obj, **changes)
    for f in specs:
        if f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return obj.__class__(**changes)


def field_values(obj) -> dict:
    """An instance's fields and their values, in field order (shallow: ``dataclasses.asdict``
    copies nested values deeply, and imports ``dataclasses``)."""
    specs = getattr(type(obj), _SPECS, None)
    if specs is None:  # built by the stdlib
        import dataclasses

        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    return {f.name: getattr(obj, f.name) for f in specs}


def dataclass(cls=None, /, *, frozen: bool = False, slots: bool = False, eq: bool = True):
    def wrap(c):
        if _NATIVE or not eq or _unusual(c):
            return _stdlib(c, frozen=frozen, slots=slots, eq=eq)
        return _build(c, frozen, eq, slots)
    return wrap if cls is None else wrap(cls)


def _unusual(cls) -> bool:
    """What the fast path does not model, left to the stdlib: dataclass bases (frozen-ness is
    checked across them), methods written in the class body (but __repr__, which is simply kept),
    init=False and keyword-only fields, ClassVar and InitVar pseudo-fields."""
    if any("__dataclass_fields__" in base.__dict__ for base in cls.__mro__[1:]):
        return True
    if any(name in cls.__dict__ for name in _MADE if name != "__repr__"):  # a written __repr__ is kept
        return True
    annotations = cls.__dict__.get("__annotations__", {}).values()
    if any(k in str(a) for a in annotations for k in ("KW_ONLY", "ClassVar", "InitVar")):
        return True
    return any(f is not None and (not f.init or f.kw_only is True) for f in map(_as_field, cls.__dict__.values()))


def _as_field(value) -> _Field | None:
    """``value`` as a _Field when it is one (ours, or a ``dataclasses.Field`` from a caller that
    imported the stdlib's ``field``), else None."""
    if isinstance(value, _Field):
        return value
    std = sys.modules.get("dataclasses")
    if std is not None and isinstance(value, std.Field):
        return _Field(*(MISSING if getattr(value, k) is std.MISSING else getattr(value, k) for k in _FIELD_OPTIONS))
    return None


def _stdlib_options(f: _Field, dataclasses) -> dict:
    return {k: dataclasses.MISSING if getattr(f, k) is MISSING else getattr(f, k) for k in _FIELD_OPTIONS}


def _stdlib(cls, **params):
    import dataclasses

    for name, value in list(cls.__dict__.items()):
        if isinstance(value, _Field):
            setattr(cls, name, dataclasses.field(**_stdlib_options(value, dataclasses)))
    return dataclasses.dataclass(cls, **params)


class _Lazy:
    """A class attribute made the first time it is read, then stored on the class in its place."""

    def __init__(self, cls, name: str, make):
        self.cls, self.name, self.make = cls, name, make

    def __get__(self, obj, owner=None):
        value = self.make()
        setattr(self.cls, self.name, value)
        return value


def _build(cls, frozen: bool, eq: bool, slots: bool = False):
    fields = []
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        value = cls.__dict__.get(name, MISSING)
        f = _as_field(value)
        if f is None:
            f = _Field(default=value)
        elif f.default is MISSING:
            delattr(cls, name)
        else:
            setattr(cls, name, f.default)
        if f.default is not MISSING and type(f.default).__hash__ is None:  # as dataclasses refuses them
            raise ValueError(f"mutable default {type(f.default)} for field {name} is not allowed: use default_factory")
        f.name, f.type = name, annotation
        fields.append(f)
    seen_default = False
    for f in fields:
        if f.default is MISSING and f.default_factory is MISSING:
            if seen_default:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
        else:
            seen_default = True
    fields = tuple(fields)
    if slots:
        cls = _with_slots(cls, fields)
    setattr(cls, _SPECS, fields)
    cls.__dataclass_fields__ = _Lazy(cls, "__dataclass_fields__", lambda: _stdlib_fields(fields))
    cls.__dataclass_params__ = _Lazy(cls, "__dataclass_params__", lambda: _params(frozen, eq))
    cls.__match_args__ = tuple(f.name for f in fields)
    shown = tuple(f.name for f in fields if f.repr)

    def __repr__(self):
        return f"{self.__class__.__qualname__}(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in shown) + ")"
    cls.__init__ = _lazy_init(cls, fields, frozen)
    if "__repr__" not in cls.__dict__:
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

        if slots:  # no __dict__ to keep a hash in; pickled as the stdlib pickles frozen slots classes
            def __hash__(self):
                return hash(hashed(self))

            def __getstate__(self):
                return [getattr(self, f.name) for f in fields]

            def __setstate__(self, state):
                for f, value in zip(fields, state):
                    object.__setattr__(self, f.name, value)
            cls.__setstate__ = __setstate__
            __setstate__.__qualname__ = f"{cls.__qualname__}.__setstate__"
        else:
            def __hash__(self):
                # computed once: the analysis keys its caches on walks of Nodes and on Creds, tens
                # of thousands of times per run
                try:
                    return self.__dict__[_HASH]
                except KeyError:
                    h = self.__dict__[_HASH] = hash(hashed(self))
                    return h

            def __getstate__(self):  # without the hash: another process hashes strings differently
                state = self.__dict__
                return {k: v for k, v in state.items() if k != _HASH} if _HASH in state else state

        def __setattr__(self, name, value):
            if type(self) is cls or name in names:
                raise _frozen_error(f"cannot assign to field {name!r}")
            super(cls, self).__setattr__(name, value)

        def __delattr__(self, name):
            if type(self) is cls or name in names:
                raise _frozen_error(f"cannot delete field {name!r}")
            super(cls, self).__delattr__(name)
        cls.__hash__, cls.__setattr__, cls.__delattr__ = __hash__, __setattr__, __delattr__
        if "__getstate__" not in cls.__dict__:
            cls.__getstate__ = __getstate__
            __getstate__.__qualname__ = f"{cls.__qualname__}.__getstate__"
    for name in _MADE:
        fn = cls.__dict__.get(name)
        if fn is not None:
            fn.__qualname__ = f"{cls.__qualname__}.{name}"
    return cls


def _with_slots(cls, fields: tuple[_Field, ...]):
    """The class again with ``__slots__`` for its fields (a class cannot gain slots once made), as
    ``dataclasses`` makes it."""
    body = dict(cls.__dict__)
    body["__slots__"] = tuple(f.name for f in fields)
    for f in fields:
        body.pop(f.name, None)
    body.pop("__dict__", None)
    body.pop("__weakref__", None)
    new = type(cls)(cls.__name__, cls.__bases__, body)
    new.__qualname__ = cls.__qualname__
    return new


def _frozen_error(message: str) -> Exception:
    import dataclasses

    return dataclasses.FrozenInstanceError(message)


def _stdlib_fields(fields: tuple[_Field, ...]) -> dict:
    """The ``dataclasses.Field`` objects the stdlib would have made for these fields."""
    import dataclasses

    out = {}
    for f in fields:
        std = dataclasses.field(**_stdlib_options(f, dataclasses))
        std.name, std.type, std._field_type = f.name, f.type, dataclasses._FIELD
        std.kw_only = False
        out[f.name] = std
    return out


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
    env: dict = {"MISSING": MISSING, "object_setattr": object.__setattr__}
    params, body = [], []
    for f in fields:
        if f.default is not MISSING:
            env[f"d_{f.name}"] = f.default
            params.append(f"{f.name}=d_{f.name}")
            value = f.name
        elif f.default_factory is not MISSING:
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
    import dataclasses

    try:
        return dataclasses._DataclassParams(True, True, eq, False, False, frozen)  # 3.11's signature
    except TypeError:  # 3.12: more fields
        return dataclasses._DataclassParams(True, True, eq, False, False, frozen, True, False, False, False)
