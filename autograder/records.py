"""Write collected records to an npz file (no pickle) and read them back, for judging in another process.

Layout: one npz holding every tensor's values as a plain array ("a0", "a1", ...) plus "records.json",
a JSON text (as a uint8 array) describing each case and observation, with tensors referred to by key.
np.load(..., allow_pickle=False) refuses any object array, so reading never executes code.
"""
import json
import zipfile

import numpy as np
import torch

from autograder.collect import CaseRecord
from autograder.compare import OtherSnapshot, TensorSnapshot
from autograder.outcome import Observation
from autograder.specs import Case

FORMAT = "rnn-course-records/2"
# Bounds on what a records file may hold, checked from the zip directory before anything is read.
MAX_ARRAYS = 20_000
MAX_BYTES = 256 * 2**20
DTYPES = {str(dtype): dtype for dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64)}


def save_records(path, check_id, records):
    arrays = {}
    entries = [{"case": _case_to_json(r.case), "seconds": r.seconds,
                "observation": _observation_to_json(r.observation, arrays)} for r in records]
    text = json.dumps({"format": FORMAT, "check_id": check_id, "records": entries})
    np.savez(path, records_json=np.frombuffer(text.encode(), dtype=np.uint8), **arrays)


def load_records(path):
    """(check_id, [CaseRecord]) from a file written by save_records."""
    _check_size(path)
    with np.load(path, allow_pickle=False) as data:
        document = json.loads(data["records_json"].tobytes().decode())
        if document.get("format") != FORMAT:
            raise ValueError(f"{path}: not a records file of format {FORMAT}")
        arrays = {key: data[key] for key in data.files if key != "records_json"}
    records = [CaseRecord(_case_from_json(e["case"]), _observation_from_json(e["observation"], arrays),
                          float(e["seconds"])) for e in document["records"]]
    return document["check_id"], records


def _check_size(path):
    """Refuse a file with too many arrays or too many bytes once uncompressed (a zip bomb)."""
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    if hasattr(path, "seek"):  # a file object: np.load reads it from where the zip directory left it
        path.seek(0)
    if len(infos) > MAX_ARRAYS or sum(info.file_size for info in infos) > MAX_BYTES:
        raise ValueError(f"{path}: records file over the limits ({MAX_ARRAYS} arrays, {MAX_BYTES} bytes)")


def _case_to_json(case):
    return {"seed": case.seed, "dtype": str(case.dtype), "device": case.device, "steps": case.steps,
            "batch": case.batch, "input_size": case.input_size, "hidden_size": case.hidden_size,
            "options": case.options}


def _case_from_json(data):
    return Case(**{**data, "dtype": DTYPES[data["dtype"]]})


def _observation_to_json(observation, arrays):
    gradients = observation.gradients
    if gradients is not None:
        gradients = {name: None if grad is None else _array_key(grad, arrays) for name, grad in gradients.items()}
    return {"result": _value_to_json(observation.result, arrays), "error_type": observation.error_type,
            "error_message": observation.error_message, "modified_inputs": list(observation.modified_inputs),
            "forbidden": observation.forbidden, "returned_inputs": list(observation.returned_inputs),
            "gradients": gradients, "detached_outputs": list(observation.detached_outputs),
            "gradient_error": observation.gradient_error}


def _observation_from_json(data, arrays):
    gradients = data["gradients"]
    if gradients is not None:
        gradients = {name: None if key is None else arrays[key] for name, key in gradients.items()}
    return Observation(result=_value_from_json(data["result"], arrays), error_type=data["error_type"],
                       error_message=data["error_message"], modified_inputs=tuple(data["modified_inputs"]),
                       forbidden=data["forbidden"], returned_inputs=tuple(data["returned_inputs"]),
                       gradients=gradients, detached_outputs=tuple(data["detached_outputs"]),
                       gradient_error=data["gradient_error"])


def _array_key(values, arrays):
    key = f"a{len(arrays)}"
    arrays[key] = values
    return key


def _value_to_json(value, arrays):
    if isinstance(value, TensorSnapshot):
        key = _array_key(value.values, arrays)
        return {"tensor": key, "dtype": value.dtype, "device": value.device, "shape": list(value.shape)}
    if isinstance(value, OtherSnapshot):
        return {"other": value.type_name}
    if isinstance(value, tuple):
        return {"tuple": [_value_to_json(v, arrays) for v in value]}
    if isinstance(value, list):
        return {"list": [_value_to_json(v, arrays) for v in value]}
    if isinstance(value, dict):
        return {"dict": {str(k): _value_to_json(v, arrays) for k, v in value.items()}}
    return {"plain": value}


def _value_from_json(data, arrays):
    if "tensor" in data:
        return TensorSnapshot(data["dtype"], data["device"], tuple(data["shape"]), arrays[data["tensor"]])
    if "other" in data:
        return OtherSnapshot(data["other"])
    if "tuple" in data:
        return tuple(_value_from_json(v, arrays) for v in data["tuple"])
    if "list" in data:
        return [_value_from_json(v, arrays) for v in data["list"]]
    if "dict" in data:
        return {k: _value_from_json(v, arrays) for k, v in data["dict"].items()}
    return data["plain"]
