"""A TF Serving REST client as users write it: requests + numpy, `instances` in, `predictions` out.

Usage: rest_client.py <base_url> <model_name> <input.npy>
Prints a JSON object with the predictions array and its shape (or the predict error), the model's available
versions, its signature names from the metadata endpoint, and the error for an unknown model.
"""
import json
import sys

import numpy as np
import requests


def main():
    base_url, model_name, input_path = sys.argv[1:4]
    arr = np.load(input_path)

    status = requests.get(f"{base_url}/v1/models/{model_name}", timeout=30)
    status.raise_for_status()
    versions = [s["version"] for s in status.json()["model_version_status"] if s["state"] == "AVAILABLE"]

    metadata = requests.get(f"{base_url}/v1/models/{model_name}/metadata", timeout=30)
    metadata.raise_for_status()
    serving_default = metadata.json()["metadata"]["signature_def"]["signature_def"]["serving_default"]

    unknown = requests.get(f"{base_url}/v1/models/no_such_model/metadata", timeout=30)

    payload = {"signature_name": "serving_default", "instances": arr.tolist()}
    resp = requests.post(f"{base_url}/v1/models/{model_name}:predict", json=payload, timeout=30)
    result = {
        "predict_status_code": resp.status_code,
        "content_type": resp.headers.get("Content-Type"),
        "available_versions": versions,
        "metadata_model_spec": metadata.json()["model_spec"],
        "signature_inputs": sorted(serving_default["inputs"].keys()),
        "signature_outputs": sorted(serving_default["outputs"].keys()),
        "unknown_model_status_code": unknown.status_code,
        "unknown_model_error": unknown.json().get("error"),
    }
    if resp.ok:
        predictions = np.array(resp.json()["predictions"], dtype=np.float64)
        result["predictions"] = predictions.ravel().tolist()
        result["shape"] = list(predictions.shape)
    else:
        result["predict_error"] = resp.text

    print(json.dumps(result))


if __name__ == "__main__":
    main()
