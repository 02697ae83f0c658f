"""What the two blind sets share: the registration decorator, the kinds of mistake, and the regexes of hints.

Written without reading the check or hint code (issue 14): only the notebooks, the book, PyTorch's equations
and the correct functions in tests/reference_solutions*.py. Each set (blind_tuning.py, blind_sealed.py) holds
`HeldOut` entries in the format of tests/heldout/wrong_implementations.py, plus `KIND`: entry name -> kind.
"""
from wrong_implementations import HeldOut

# Every kind appears in both sets, with different entries.
KINDS = (
    "extreme magnitudes",      # overflowing exp-based sigmoid/tanh, clamped pre-activations, NaN gradients, tiny norms
    "non-contiguous input",    # .view / as_strided / data_ptr assumptions on transposed or strided inputs
    "size one",                # squeeze() when a batch, hidden, input or window size is 1
    "long sequence",           # loops truncated to a fixed number of steps, truncated BPTT
    "state between calls",     # caches keyed by shape, global lists, lru_cache'd buffers
    "ill-conditioned",         # normal equations with an explicit inverse
    "string identity",         # `is` instead of `==`, case and spaces in strings
    "aliasing",                # outputs that alias each other or the inputs
    "input mutation",          # in-place operations on an input
    "device",                  # tensors made without device= (wrong only on a GPU)
    "dtype",                   # float32 where the input's dtype is asked, and the reverse
    "axes swapped",            # batch and time axes, reshape for transpose
    "off by one",              # windows, steps, ranges, validation bounds
    "validation",              # an invalid option or size accepted instead of raising ValueError
    "gate order",              # the order of the stacked blocks
    "bias",                    # a bias left out, added twice or misplaced
    "reset placement",         # the GRU's reset before the product, or without its bias
    "missing term",            # backward passes: one gate's contribution, the cell path, the h path, accumulation
    "sign",                    # a wrong sign
    "time alignment",          # a state or input of the wrong step
    "clipping rule",           # per tensor, without 1e-6, > instead of >=
    "markov counting",         # repeated transitions, rows never left, impossible transitions
    "formula",                 # another wrong equation (activation, norm, product)
    "output type",             # a float where an int is asked, a list where a tuple is, wrong keys
    "answer value",            # a wrong answer to a question or a wrong experiment result
    "answer type",             # the right answer in the wrong type, case, spacing or precision
)


def registry(entries, kinds):
    """A decorator factory that appends HeldOut entries to `entries` and records their kind in `kinds`."""
    def blind(check_id, kind, mistake, where, wrong_names=None, needs_cuda=False):
        assert kind in KINDS, kind

        def register(fn):
            entries.append(HeldOut(check_id, fn, mistake, where, wrong_names, needs_cuda))
            kinds[fn.__name__] = kind
            return fn
        return register
    return blind


# Phrases a hint would use to name a mistake of each family; an entry's `wrong_names` combines the families
# its own mistake is not in. They avoid output names (`bias_ih`, `h_n`, ...), which a message that merely
# localises would contain.
FAMILIES = {
    "transpose": r"transpos",
    "gate order": r"gate order|order of the (gates|blocks)|blocks? (are )?(swapped|permuted|in the wrong order)",
    "activation": r"(sigmoid|tanh|relu) (instead|where|in place)|wrong (activation|nonlinearit)",
    "bias": r"(missing|without|only one|one of the|second|extra|twice the) bias|bias (is )?(missing|added twice|"
            r"left out|omitted)|bias as a column",
    "in place": r"in.?place|modif(y|ies|ied) (its|the|an) input|mutat",
    "dtype": r"\bdtype\b|float32|float64|double precision",
    "device": r"\bdevice\b|cuda",
    "time": r"off.by.one|one step (early|late|too)|shifted by|time order",
    "axes": r"batch.first|batch and time|axes (are )?swapped",
    "reset": r"reset (gate )?(is )?(applied )?(before|after)|before the (matrix )?product",
    "clipping": r"per.tensor|clipping rule",
    "sign": r"\bsign\b",
    "factor": r"constant factor|off by a factor",
    "shapes combined": r"different shapes are combined|which weight multiplies",
    "cache": r"cach|previous call|stale",
    "squeeze": r"squeez",
}


def others(*own):
    """The regex of every family but `own`."""
    assert all(family in FAMILIES for family in own), own
    return "|".join(f"(?:{regex})" for family, regex in FAMILIES.items() if family not in own)


# Places and mistakes, reused by several entries of both sets.
OVERFLOW = r"overflow|\bnan\b|\binf\b|large (pre-?activation|input|magnitude|value)|saturat|exp\("
CLAMPED = r"clamp|clip(ped)? (the )?pre|large (pre-?activation|input|magnitude|value)|saturat"
NAN_GRADIENT = r"nan|gradient|backward|autograd|differentiab"
NON_CONTIGUOUS = r"contiguous|stride|\.view|transposed (view|input)"
SQUEEZE = r"squeez|size.?1 |of size 1|dimension of size|dropped (a|the) (dim|axis)"
TRUNCATED = r"truncat|only (the )?(first|last) \d+|first \d+ steps|after (step|entry|index) \d+|from the end|" \
            r"earl(y|ier|iest) steps|long sequence"
STATE = r"previous call|second call|repeated call|earlier call|state kept|stale|cach|global|same shapes"
ALIAS = r"alias|shares? (its )?(memory|storage)|same (tensor|object|memory|storage)|view of"
IN_PLACE = r"in.?place|input[^\n]*(changed|modified)|(changed|modified)[^\n]*input|unchanged|mutat"
ILL_CONDITIONED = r"ill.?condition|normal equation|inverse|condition(ing| number)|lstsq|least.squares"
IS_STRING = r"\bis\b[^\n]*==|==[^\n]*\bis\b|identity|interned|equal strings|not the same object|string compar"
DTYPE = r"\bdtype\b|float32|float64|double"
DEVICE = r"\bdevice\b|cuda"
AXES = r"batch.first|batch and time|axes|time axis|reshape|\.view|interleav|scrambl"
TYPE_WORDS = r"\btype\b|\bint\b|\bfloat\b|\bstr\b|numpy|tensor|0-dim|1-element|one-element|python (int|float|number)"
WRONG_ANSWER = r"not (the )?(right|correct)|wrong answer|incorrect|answer is wrong"
ANSWER_HINTS = r"likely|probabl|did you|constant factor|off by|transpos|sign"
