"""The text of the character-level language-model chapter: Python's documentation topics, split by documents.

The corpus ships with Python itself (`pydoc_data.topics`, the help texts behind `help("if")`): about
465,000 characters of English and code in 79 documents, so nothing is downloaded. The split is fixed,
by whole documents, so that no paragraph is cut in two and seen on both sides:

- `split_text("train")`: every document not listed below (about 80 % of the characters);
- `split_text("validation")`: the documents of VALIDATION_DOCUMENTS (about 10 %), for choosing settings;
- `split_text("test")`: those of TEST_DOCUMENTS (about 10 %), for the final number only.

`VOCABULARY` lists the 103 characters of the corpus in code-point order; the position of a character
in it is its id. A character a later Python's topics might add is replaced by REPLACEMENT.

`sequential_batches` and `random_batches` cut one long sequence of ids into minibatches of chunks for
truncated backpropagation through time. This module holds data only: the grading sandbox includes it so
that a student's training code can read the training text. It imports nothing from the course.
"""
import torch

VOCABULARY = (
    "\n !\"#%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_abcdefghijklmnopqrstuvwxyz{|}~"
    "°ß–—‘’“”…"
)
REPLACEMENT = "?"
VALIDATION_DOCUMENTS = ("calls", "execmodel", "import", "naming", "sequence-types", "try")
TEST_DOCUMENTS = ("assignment", "comparisons", "function", "operator-summary", "raise", "strings")
SPLITS = ("train", "validation", "test")
DOCUMENT_SEPARATOR = "\n"


def _topics():
    from pydoc_data.topics import topics

    return topics


def document_names(split):
    """The names of the documents of one split, in alphabetical order."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    held_out = {"validation": VALIDATION_DOCUMENTS, "test": TEST_DOCUMENTS}
    if split in held_out:
        return tuple(sorted(held_out[split]))
    excluded = set(VALIDATION_DOCUMENTS) | set(TEST_DOCUMENTS)
    return tuple(sorted(name for name in _topics() if name not in excluded))


def in_vocabulary(text):
    """`text` with every character outside VOCABULARY replaced by REPLACEMENT."""
    known = set(VOCABULARY)
    return "".join(character if character in known else REPLACEMENT for character in text)


def split_text(split):
    """The documents of one split, joined by DOCUMENT_SEPARATOR, as one string over VOCABULARY."""
    topics = _topics()
    return in_vocabulary(DOCUMENT_SEPARATOR.join(topics[name] for name in document_names(split)))


def _check_layout(ids, batch_size, chunk_length):
    if not isinstance(ids, torch.Tensor) or ids.ndim != 1:
        raise ValueError("ids must be a 1-D tensor of character ids")
    for name, value in (("batch_size", batch_size), ("chunk_length", chunk_length)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if len(ids) < batch_size * chunk_length + 1:
        raise ValueError(f"{len(ids)} ids are too few for {batch_size} streams of chunks of {chunk_length}")


def sequential_batches(ids, batch_size, chunk_length):
    """Minibatches (inputs, targets), each (batch_size, chunk_length), that continue one another.

    The text is cut into `batch_size` streams of equal length, one per row, and each stream is walked
    through in order: row b of a batch continues row b of the previous batch, so the hidden state can be
    carried from one chunk to the next. Targets are the inputs shifted by one character.
    """
    _check_layout(ids, batch_size, chunk_length)
    stream_length = (len(ids) - 1) // batch_size
    inputs = ids[:batch_size * stream_length].reshape(batch_size, stream_length)
    targets = ids[1:batch_size * stream_length + 1].reshape(batch_size, stream_length)
    for start in range(0, stream_length - chunk_length + 1, chunk_length):
        yield inputs[:, start:start + chunk_length], targets[:, start:start + chunk_length]


def random_batches(ids, batch_size, chunk_length, generator=None):
    """Minibatches (inputs, targets) of chunks that start at random places: no state carries over.

    The text is cut into chunks of `chunk_length` from a random offset below `chunk_length`; the chunks
    are shuffled and grouped `batch_size` at a time (a last, incomplete group is dropped).
    """
    _check_layout(ids, batch_size, chunk_length)
    offset = int(torch.randint(0, chunk_length, (1,), generator=generator))
    count = (len(ids) - 1 - offset) // chunk_length
    starts = offset + chunk_length * torch.randperm(count, generator=generator)
    steps = torch.arange(chunk_length)
    for first in range(0, count - batch_size + 1, batch_size):
        rows = starts[first:first + batch_size, None] + steps
        yield ids[rows], ids[rows + 1]
