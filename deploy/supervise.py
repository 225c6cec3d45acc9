"""Run the suite's processes under supervision (``make run``): supervisord starts every command of
``deploy/Procfile``, restarts one that crashes while the others keep serving, and says so on the
console; Ctrl-C stops everything cleanly (exit 0).

The Procfile stays the one list of commands (the benchmarks and the end-to-end tests start the
same ones); this writes a supervisord configuration from it into the run's ``var/`` directory and
hands over to supervisord in the foreground. A process that keeps failing to start is retried with
supervisord's backoff (1, 2, 3, ... seconds, ``IV_SUPERVISE_START_RETRIES`` times).

    python deploy/supervise.py [deploy/Procfile [deploy/Procfile.development ...]]

Several lists are supervised together. A list whose name ends in ``.development`` (``make run``'s
development identity provider) is refused with ``IV_ENVIRONMENT=production``: those processes
never run beside production settings.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def procfile(path: Path) -> dict[str, str]:
    commands = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and ":" in line:
            name, command = line.split(":", 1)
            commands[name.strip()] = command.strip()
    return commands


def configuration(commands: dict[str, str], var_dir: Path, start_retries: int) -> str:
    """supervisord's configuration: foreground, its own log and every process's output on the console."""
    sections = [
        "[supervisord]",
        "nodaemon=true",
        # In the foreground supervisord writes its own lines to the console too; the file keeps them.
        f"logfile={var_dir / 'supervisord.log'}",
        "loglevel=info",
        f"pidfile={var_dir / 'supervisord.pid'}",
        f"childlogdir={var_dir}",
        "",
        "[unix_http_server]",
        f"file={var_dir / 'supervisor.sock'}",
        "chmod=0700",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{var_dir / 'supervisor.sock'}",
    ]
    for name, command in commands.items():
        sections += [
            "",
            f"[program:{name}]",
            f"command=/bin/bash -c {shlex.quote(command)}",
            f"directory={ROOT}",
            f'environment=IV_PROCESS_NAME="{name}"',
            "autostart=true",
            "autorestart=true",
            "startsecs=2",
            f"startretries={start_retries}",
            "stopsignal=INT",
            "stopwaitsecs=15",
            "stopasgroup=true",
            "killasgroup=true",
            "stdout_logfile=/dev/stdout",
            "stdout_logfile_maxbytes=0",
            "redirect_stderr=true",
        ]
    # One group: at Ctrl-C supervisord stops a group's processes all at once, but group after group
    # (a program alone is a group of its own), which made stopping take a second or more per process.
    sections += ["", f"[group:{GROUP}]", f"programs={','.join(commands)}"]
    # supervisord reads %(...)s as its own expansions: a literal % in a command must be doubled.
    return "\n".join(line.replace("%", "%%") if line.startswith("command=") else line for line in sections) + "\n"


DEVELOPMENT_SUFFIX = ".development"
# supervisorctl names a process <group>:<name> (supervisorctl status iv:portfolio).
GROUP = "iv"


def commands_of(paths: list[Path], environment: str) -> dict[str, str]:
    """The commands of every list, refusing a development-only list outside development."""
    commands: dict[str, str] = {}
    for path in paths:
        if path.name.endswith(DEVELOPMENT_SUFFIX) and environment != "development":
            raise SystemExit(
                f"{path} lists development-only processes (the development identity provider); "
                f"refused with IV_ENVIRONMENT={environment}"
            )
        commands.update(procfile(path))
    return commands


def main(argv: list[str]) -> None:
    paths = [Path(arg) for arg in argv[1:]] or [ROOT / "deploy" / "Procfile"]
    commands = commands_of(paths, os.environ.get("IV_ENVIRONMENT", "development"))
    var_dir = Path(os.environ.get("IV_VAR_DIR", "var")).resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / "supervisord.conf"
    path.write_text(configuration(commands, var_dir, int(os.environ.get("IV_SUPERVISE_START_RETRIES", "10"))))
    supervisord = Path(sys.executable).parent / "supervisord"
    os.execv(supervisord, [str(supervisord), "--nodaemon", "--configuration", str(path)])  # noqa: S606 - our own supervisord, no shell


if __name__ == "__main__":
    main(sys.argv)
