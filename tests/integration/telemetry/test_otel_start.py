"""`rolecall serve` with an export that cannot work: one error line naming the variable and the fix,
exit status 2, nothing served. Real processes (the missing extra is simulated by hiding the
``opentelemetry`` package from the interpreter)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

INVENTORY = {
    "providers": {"up": {"kind": "openai_compatible", "base_url": "http://127.0.0.1:9/v1"}},
    "endpoints": [{"provider": "up", "model": "m", "id": "ep"}],
}
SERVE = "from rolecall.cli import main; main()"
WITHOUT_OTEL = "import sys; sys.modules['opentelemetry'] = None; " + SERVE


def _serve(tmp_path: Path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "rolecall.yaml"
    config.write_text(yaml.safe_dump(INVENTORY))
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "ROLECALL_"))}
    environ.update(ROLECALL_CONFIG=str(config), ROLECALL_DATA_DIR=str(tmp_path / "data"), **env)
    return subprocess.run(
        [sys.executable, "-c", code, "serve", "--port", "0"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_export_without_the_extra_names_the_install(tmp_path: Path) -> None:
    result = _serve(tmp_path, WITHOUT_OTEL, ROLECALL_OTEL_ENDPOINT="http://127.0.0.1:4318")
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: environment: ROLECALL_OTEL_ENDPOINT: ")
    assert "pip install 'rolecall[otel]'" in line
    assert "rolecall gateway on" not in result.stdout


@pytest.mark.parametrize(
    ("env", "named"),
    [
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            },
            "OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc'",
        ),
        ({"ROLECALL_OTEL_ENDPOINT": "collector:4318"}, "ROLECALL_OTEL_ENDPOINT: 'collector:4318'"),
    ],
)
def test_an_export_that_cannot_work_is_one_error(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    result = _serve(tmp_path, SERVE, **env)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: environment: {named}")


def test_the_extra_missing_matters_only_when_export_is_asked(tmp_path: Path) -> None:
    # no export configured: the same interpreter starts (and is stopped once it serves)
    config = tmp_path / "rolecall.yaml"
    config.write_text(yaml.safe_dump(INVENTORY))
    code = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "from rolecall.bootstrap import build_services\n"
        "from rolecall.settings import Settings\n"
        f"s = build_services(Settings(config={str(config)!r}, data_dir={str(tmp_path / 'd')!r},"
        " record_process=False))\n"
        "print(type(s.sink).__name__)\n"
        "s.sink.close()\n"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "ROLECALL_"))}
    result = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "InProcessSink"
