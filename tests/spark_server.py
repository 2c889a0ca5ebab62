"""A local Spark Thrift server for tests and benchmarks (one JVM, started once, stopped after).

The ``pyspark`` distribution ships Spark's Hive Thrift server; it runs in local mode with two
cores and 2 GB of driver memory (the machine is shared), its metastore (Derby) and warehouse in
a folder of its own. PyHive's ``hive://`` dialect reaches it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path


def spark_home() -> Path | None:
    """The folder of the installed ``pyspark`` distribution (with ``bin/spark-submit``)."""
    try:
        import pyspark
    except ImportError:
        return None
    home = Path(pyspark.__file__).parent
    return home if (home / "bin" / "spark-submit").exists() else None


def unavailable_reason() -> str | None:
    """Why a local Spark Thrift server cannot start here, or None when it can."""
    if shutil.which("java") is None:
        return "no Java on PATH (install openjdk-17-jre-headless)"
    if spark_home() is None:
        return "pyspark is not installed (pip install -e '.[test]')"
    try:
        import pyhive  # noqa: F401
        import thrift_sasl  # noqa: F401
    except ImportError as exc:
        return f"the hive:// driver is missing ({exc}; pip install -e '.[test]')"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SparkThriftServer:
    """``with SparkThriftServer(folder) as server: server.url`` (``hive://127.0.0.1:PORT/default``)."""

    def __init__(self, folder: Path, *, cores: int = 2, memory: str = "2g") -> None:
        self.folder = Path(folder)
        self.cores = cores
        self.memory = memory
        self.port = _free_port()
        self.process: subprocess.Popen | None = None
        self.started_in: float | None = None

    @property
    def url(self) -> str:
        return f"hive://127.0.0.1:{self.port}/default"

    @property
    def warehouse(self) -> Path:
        return self.folder / "warehouse"

    def start(self, timeout: float = 180.0) -> SparkThriftServer:
        home = spark_home()
        self.folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        command = [
            str(home / "bin" / "spark-submit"),
            "--master", f"local[{self.cores}]",
            "--driver-memory", self.memory,
            "--conf", "spark.ui.enabled=false",
            "--conf", f"spark.sql.shuffle.partitions={self.cores}",
            "--conf", f"spark.sql.warehouse.dir={self.warehouse}",
            "--conf", f"spark.driver.extraJavaOptions=-Dderby.system.home={self.folder}",
            "--class", "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
            "--hiveconf", f"hive.server2.thrift.port={self.port}",
            "--hiveconf", "hive.server2.thrift.bind.host=127.0.0.1",
            "spark-internal",
        ]  # fmt: skip
        env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOG_DIR": str(self.folder)}
        log = (self.folder / "thriftserver.log").open("ab")
        self.process = subprocess.Popen(
            command, cwd=self.folder, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the Spark Thrift server stopped at start (exit {self.process.returncode});"
                    f" see {self.folder / 'thriftserver.log'}"
                )
            if self._answers():
                self.started_in = time.perf_counter() - started
                return self
            time.sleep(1.0)
        self.stop()
        raise RuntimeError(f"the Spark Thrift server did not answer within {timeout:.0f} s")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                pass
        except OSError:
            return False
        try:
            from pyhive import hive

            connection = hive.connect(host="127.0.0.1", port=self.port)
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchall()
            connection.close()
        except Exception:  # noqa: BLE001 - still starting: any refusal means "not yet"
            return False
        return True

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> SparkThriftServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
