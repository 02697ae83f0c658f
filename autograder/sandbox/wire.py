"""Plain data across the sandbox's wall: the inputs the grader sends, the records the sandbox sends back.

Both directions use one npz file (no pickle): every array is a member ("a0", "a1", ...) and a JSON
document (member "document", a uint8 array) describes the structure, referring to arrays by key.
`np.load(..., allow_pickle=False)` refuses object arrays, so reading never executes code; `read_npz`
checks the zip directory first (only stored .npy members, bounded count and size).

Inputs keep their memory layout: a tensor is sent as the span of storage it covers, with its shape and
strides, so a transposed, strided or expanded view arrives as the same kind of view; a tensor on the
`meta` device is sent without values.
"""
import io
import json
import zipfile

import numpy as np
import torch

from autograder.sandbox.observe import Call, Observation
from autograder.sandbox.snapshots import OtherSnapshot, ScalarSnapshot, TensorSnapshot

INPUTS_FORMAT = "rnn-course-inputs/1"
RECORDS_FORMAT = "rnn-course-records/3"
MAX_MEMBERS = 20_000
MAX_BYTES = 256 * 2**20
DTYPES = {str(dtype): dtype for dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64,
                                          torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8,
                                          torch.bool)}


class WireError(ValueError):
    """A file that is not what the other side of the wall should have written."""


# ----- writing and reading npz documents -----

def write_npz(target, format_name, body, arrays):
    document = json.dumps({"format": format_name, **body})
    np.savez(target, document=np.frombuffer(document.encode(), dtype=np.uint8), **arrays)


def read_npz(source, format_name, max_bytes=None):
    """(document, {key: array}) from bytes or a path, after bounding the archive; WireError else."""
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    data = source if isinstance(source, bytes) else open(source, "rb").read(max_bytes + 1)
    if len(data) > max_bytes:
        raise WireError(f"over the size limit of {max_bytes} bytes")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as error:
        raise WireError(f"not an npz file ({error})") from None
    if len(members) > MAX_MEMBERS or any(m.compress_type != zipfile.ZIP_STORED or not m.filename.endswith(".npy")
                                         for m in members):
        raise WireError("unexpected archive members")
    if sum(m.file_size for m in members) > max_bytes:
        raise WireError("over the size limit once read")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            document = json.loads(npz["document"].tobytes().decode())
            arrays = {key: npz[key] for key in npz.files if key != "document"}
    except (ValueError, KeyError, UnicodeDecodeError, OSError) as error:
        raise WireError(f"unreadable ({type(error).__name__})") from None
    if not isinstance(document, dict) or document.get("format") != format_name:
        raise WireError(f"not a document of format {format_name}")
    return document, arrays


def _key(arrays, values):
    key = f"a{len(arrays)}"
    arrays[key] = values
    return key


# ----- inputs: grader -> sandbox -----

def encode_value(value, arrays):
    """JSON for an input value; tensors' storage spans go to `arrays`."""
    if isinstance(value, torch.Tensor):
        entry = {"tensor": None, "dtype": str(value.dtype), "device": value.device.type,
                 "shape": list(value.shape), "stride": list(value.stride())}
        if not value.is_meta:
            extent = 1 + sum((s - 1) * st for s, st in zip(value.shape, value.stride())) if value.numel() else 0
            span = value.detach().as_strided((extent,), (1,), value.storage_offset()).cpu()
            entry["tensor"] = _key(arrays, span.numpy() if span.dtype != torch.bfloat16 else span.double().numpy())
        return entry
    if isinstance(value, tuple):
        return {"tuple": [encode_value(v, arrays) for v in value]}
    if isinstance(value, list):
        return {"list": [encode_value(v, arrays) for v in value]}
    if isinstance(value, dict):
        return {"dict": {str(k): encode_value(v, arrays) for k, v in value.items()}}
    if value is None or type(value) in (bool, int, float, str):
        return {"plain": value}
    raise TypeError(f"cannot send a {type(value).__name__} as an input")


def decode_value(entry, arrays, device=None):
    if "tensor" in entry:
        dtype, shape, stride = DTYPES[entry["dtype"]], tuple(entry["shape"]), tuple(entry["stride"])
        target = device or entry["device"]
        if entry["device"] == "meta":
            return torch.empty_strided(shape, stride, dtype=dtype, device="meta")
        if entry["tensor"] is None:
            return torch.empty(shape, dtype=dtype, device=target)
        span = torch.from_numpy(np.array(arrays[entry["tensor"]])).to(dtype=dtype, device=target)
        return span.as_strided(shape, stride, 0)
    if "tuple" in entry:
        return tuple(decode_value(v, arrays, device) for v in entry["tuple"])
    if "list" in entry:
        return [decode_value(v, arrays, device) for v in entry["list"]]
    if "dict" in entry:
        return {k: decode_value(v, arrays, device) for k, v in entry["dict"].items()}
    return entry["plain"]


def encode_call(call, arrays):
    return {"inputs": {name: encode_value(value, arrays) for name, value in call.inputs.items()},
            "keywords": list(call.keywords), "no_arguments": call.no_arguments}


def decode_call(entry, arrays):
    inputs = {name: decode_value(value, arrays) for name, value in entry["inputs"].items()}
    return Call(inputs, tuple(entry["keywords"]), bool(entry["no_arguments"]))


def write_inputs(target, checks):
    """checks: {grade id: [(Call, with_gradient)]} -> one npz the sandbox reads with read_inputs."""
    arrays, body = {}, {}
    for grade_id, calls in checks.items():
        body[grade_id] = [{"call": encode_call(call, arrays), "with_gradient": bool(gradient)}
                          for call, gradient in calls]
    write_npz(target, INPUTS_FORMAT, {"checks": body}, arrays)


def read_inputs(source):
    """{grade id: [(Call, with_gradient)]}; tensors are made only when read_inputs is called."""
    document, arrays = read_npz(source, INPUTS_FORMAT)
    return {grade_id: [(decode_call(c["call"], arrays), c["with_gradient"]) for c in calls]
            for grade_id, calls in document["checks"].items()}


# ----- records: sandbox -> grader -----

def save_records(target, check_id, observations, seconds):
    """One record per call, in the order of the calls: the observation and the call's time."""
    arrays = {}
    entries = [{"observation": _observation_to_json(o, arrays), "seconds": s} for o, s in zip(observations, seconds)]
    write_npz(target, RECORDS_FORMAT, {"check_id": check_id, "records": entries}, arrays)


def load_records(source, max_bytes=None):
    """(check_id, [(Observation, seconds)]) from a file or bytes written by save_records; WireError else."""
    document, arrays = read_npz(source, RECORDS_FORMAT, max_bytes)
    try:
        records = [(_observation_from_json(e["observation"], arrays), float(e["seconds"]))
                   for e in document["records"]]
        return str(document["check_id"]), records
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise WireError(f"malformed records ({type(error).__name__})") from None


def _observation_to_json(observation, arrays):
    gradients = observation.gradients
    if gradients is not None:
        gradients = {name: None if grad is None else _key(arrays, grad) for name, grad in gradients.items()}
    return {"result": _snapshot_to_json(observation.result, arrays), "error_type": observation.error_type,
            "error_message": observation.error_message, "modified_inputs": list(observation.modified_inputs),
            "forbidden": observation.forbidden, "returned_inputs": list(observation.returned_inputs),
            "gradients": gradients, "detached_outputs": list(observation.detached_outputs),
            "gradient_error": observation.gradient_error,
            "aliased_outputs": [list(pair) for pair in observation.aliased_outputs],
            "grad_outputs": list(observation.grad_outputs)}


def _text_or_none(value):
    return None if value is None else str(value)


def _observation_from_json(data, arrays):
    gradients = data["gradients"]
    if gradients is not None:
        gradients = {str(name): None if key is None else _float_array(arrays[key]) for name, key in gradients.items()}
    return Observation(result=_snapshot_from_json(data["result"], arrays),
                       error_type=_text_or_none(data["error_type"]), error_message=str(data["error_message"]),
                       modified_inputs=tuple(map(str, data["modified_inputs"])),
                       forbidden=_text_or_none(data["forbidden"]),
                       returned_inputs=tuple(map(str, data["returned_inputs"])), gradients=gradients,
                       detached_outputs=tuple(int(k) for k in data["detached_outputs"]),
                       gradient_error=_text_or_none(data["gradient_error"]),
                       aliased_outputs=tuple((int(j), int(k)) for j, k in data.get("aliased_outputs", [])),
                       grad_outputs=tuple(int(k) for k in data.get("grad_outputs", [])))


def _float_array(values):
    if values.dtype.kind not in "fiub":
        raise WireError("an array that is not numeric")
    return values


def _snapshot_to_json(value, arrays):
    if isinstance(value, TensorSnapshot):
        return {"tensor": _key(arrays, value.values), "dtype": value.dtype, "device": value.device,
                "shape": list(value.shape)}
    if isinstance(value, ScalarSnapshot):
        return {"scalar": value.type_name, "value": value.value}
    if isinstance(value, OtherSnapshot):
        return {"other": value.type_name}
    if isinstance(value, tuple):
        return {"tuple": [_snapshot_to_json(v, arrays) for v in value]}
    if isinstance(value, list):
        return {"list": [_snapshot_to_json(v, arrays) for v in value]}
    if isinstance(value, dict):
        return {"dict": {str(k): _snapshot_to_json(v, arrays) for k, v in value.items()}}
    return {"plain": value}


def _snapshot_from_json(data, arrays, depth=0):
    if depth > 40 or not isinstance(data, dict):
        raise WireError("malformed value")
    if "tensor" in data:
        values = _float_array(arrays[data["tensor"]])
        shape = tuple(int(n) for n in data["shape"])
        if values.shape != shape:
            raise WireError("a tensor whose values do not have its shape")
        return TensorSnapshot(str(data["dtype"]), str(data["device"]), shape, values)
    if "scalar" in data:
        value = data["value"]
        if type(value) not in (bool, int, float):
            raise WireError("a scalar that is not a number")
        return ScalarSnapshot(str(data["scalar"]), value)
    if "other" in data:
        return OtherSnapshot(str(data["other"]))
    if "tuple" in data:
        return tuple(_snapshot_from_json(v, arrays, depth + 1) for v in data["tuple"])
    if "list" in data:
        return [_snapshot_from_json(v, arrays, depth + 1) for v in data["list"]]
    if "dict" in data:
        return {str(k): _snapshot_from_json(v, arrays, depth + 1) for k, v in data["dict"].items()}
    value = data["plain"]
    if value is not None and type(value) not in (bool, int, float, str):
        raise WireError("a plain value that is not a number or a string")
    return value
