"""botocore's data parsed once in the Lambda zygote (lambda_sdk_data.py), and what stays as on
Lambda: a handler's own data path. Run in a fresh interpreter, as a forked worker would be: the
preload changes botocore in the process it runs in."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import gluelab.cloud.lambda_sdk_data

PROBE = textwrap.dedent("""
    import json, os, sys
    import boto3
    from botocore.loaders import JSONFileLoader
    sys.path.insert(0, sys.argv[1])
    import lambda_sdk_data
    lambda_sdk_data.preload()
    read = []
    load_file = JSONFileLoader.load_file
    JSONFileLoader.load_file = lambda self, path: read.append(path) or load_file(self, path)
    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                      AWS_DEFAULT_REGION="eu-west-1")
    default = boto3.client("ssm")
    read_by_default = list(read)
    again = boto3.Session().client("ssm")
    os.environ["AWS_DATA_PATH"] = sys.argv[2]
    own = boto3.Session().client("ssm")
    print(json.dumps({"read_by_default": read_by_default,
                      "own_search_paths": own._loader.search_paths,
                      "default_endpoint": default.meta.endpoint_url,
                      "operations": len(default.meta.service_model.operation_names),
                      "same_model": (default.meta.service_model.operation_names
                                     == own.meta.service_model.operation_names),
                      "loaders_apart": default._loader is not again._loader,
                      "search_path_kept": default._loader.search_paths == again._loader.search_paths}))
""")


def test_a_worker_s_first_client_reads_no_data_file_and_a_handler_s_own_data_path_is_kept(tmp_path):
    folder = Path(gluelab.cloud.lambda_sdk_data.__file__).parent
    probe = subprocess.run([sys.executable, "-c", PROBE, str(folder), str(tmp_path)],
                           capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout)
    assert result["read_by_default"] == []  # the SSM model, its rules, endpoints: parsed already
    assert result["default_endpoint"] == "https://ssm.eu-west-1.amazonaws.com"
    assert result["operations"] > 100 and result["same_model"]
    assert str(tmp_path) in result["own_search_paths"]  # AWS_DATA_PATH: a loader of its own
    # Each session still has its own loader: boto3 adds its folder to the search path of each,
    # which would grow without end on one shared by every session a handler makes.
    assert result["loaders_apart"] and result["search_path_kept"]
