"""The deploy/ files agree with the code: nginx accepts the site as rendered for a machine,
systemd accepts the units, every command they start is one the application has with the
options they give, and gunicorn's settings load and name the application factory."""

import configparser
import importlib.util
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("survey-*.*"))


def _module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(path)
    return parser


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed "
                    "(apt-get install nginx-light)")
@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl is not installed")
def test_nginx_accepts_the_site(tmp_path):
    stack = _module(DEPLOY / "stack_check.py", "stack_check")
    cert, key = stack.self_signed(tmp_path)
    site = stack.render_site((DEPLOY / "nginx" / "survey.conf").read_text(),
                             upstreams=["127.0.0.1:18001", "127.0.0.1:18002"],
                             http_port=18080, https_port=18443, cert=cert, key=key,
                             static=ROOT / "survey_app" / "static")
    assert "server 127.0.0.1:18002 max_fails=1" in site
    conf = tmp_path / "nginx.conf"
    conf.write_text(stack.nginx_conf(site, tmp_path))
    done = subprocess.run(["nginx", "-t", "-c", str(conf), "-p", str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # what the drills rely on: the citizen's address and scheme passed on, static by nginx
    text = (DEPLOY / "nginx" / "survey.conf").read_text()
    for setting in ("proxy_set_header X-Forwarded-For $remote_addr;",
                    "proxy_set_header X-Forwarded-Proto $scheme;", "gzip on;",
                    "client_max_body_size", "proxy_read_timeout"):
        assert setting in text


def test_timers_start_their_services_and_commands_exist(app):
    services = {p.stem for p in UNITS if p.suffix == ".service"}
    timers = [p for p in UNITS if p.suffix == ".timer"]
    assert {p.stem for p in timers} == services - {"survey-web"}
    assert {"survey-checkpoint", "survey-purge-contacts", "survey-backup"} <= services
    for timer in timers:
        assert _unit(timer)["Timer"]["OnCalendar"]
    for path in UNITS:
        if path.suffix != ".service" or path.stem == "survey-web":
            continue
        service = _unit(path)["Service"]
        assert service["EnvironmentFile"] == "/etc/survey/survey.env"
        argv = shlex.split(service["ExecStart"])
        assert argv[:3] == ["/opt/survey/venv/bin/flask", "--app", "survey_app"]
        command = app.cli.get_command(None, argv[3])
        assert command is not None, f"{path.name}: no command {argv[3]!r}"
        with app.app_context():  # parses the options as the shell would, runs nothing
            command.make_context(argv[3], argv[4:])


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not "
                    "available: the units are only parsed")
def test_systemd_accepts_the_units(tmp_path):
    # Paths of an installed host rewritten to this checkout's, which exist here.
    bin_dir = str(Path(sys.executable).parent)
    for path in UNITS:
        text = path.read_text().replace("/opt/survey/venv/bin", bin_dir)
        (tmp_path / path.name).write_text(text.replace("/opt/survey/app", str(ROOT)))
    done = subprocess.run(["systemd-analyze", "verify",
                           *sorted(str(p) for p in tmp_path.iterdir())],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_gunicorn_settings_load():
    conf = _module(DEPLOY / "gunicorn.conf.py", "gunicorn_conf")
    assert conf.wsgi_app == "survey_app:create_app()"
    assert conf.bind.startswith("127.0.0.1:")
    assert conf.workers >= 1 and conf.timeout < 70  # below nginx's proxy_read_timeout
    web = _unit(DEPLOY / "systemd" / "survey-web.service")["Service"]
    assert "deploy/gunicorn.conf.py" in web["ExecStart"]


def test_environment_template_names_settings_the_app_reads():
    from survey_app.config import Defaults
    from survey_app.metrics import MULTIPROC_ENV

    names = [line.split("=", 1)[0] for line in
             (DEPLOY / "survey.env.example").read_text().splitlines()
             if line and not line.startswith("#")]
    settings = [n.removeprefix("SURVEY_") for n in names if n.startswith("SURVEY_")]
    known = set(vars(Defaults)) | {"INSTANCE_PATH", "DATABASE_URL", "SECRET_KEY"}
    assert settings and not set(settings) - known, set(settings) - known
    assert {n for n in names if not n.startswith("SURVEY_")} <= {
        "GUNICORN_BIND", "GUNICORN_WORKERS", "GUNICORN_TIMEOUT", "FORWARDED_ALLOW_IPS",
        MULTIPROC_ENV}
