"""The instance folder is the running account's only: new files 0600, folders 0700, and
what was left readable to others is tightened when the product starts."""

import os
import stat

from designer.instance import make_private


def test_make_private_takes_group_and_other_permissions_away(tmp_path):
    instance = tmp_path / "instance"
    (instance / "appendonlydir").mkdir(parents=True)
    files = {
        "designer.db": 0o644,
        "appendonlydir/redis.aof.1": 0o664,
        "run.sh": 0o755,
        "secret_key": 0o600,
    }
    for name, mode in files.items():
        (instance / name).write_text("x")
        (instance / name).chmod(mode)
    outside = tmp_path / "shared.txt"
    outside.write_text("not ours to change")
    outside.chmod(0o644)
    (instance / "link").symlink_to(outside)
    instance.chmod(0o755)
    make_private(instance)
    assert mode_of(instance) == mode_of(instance / "appendonlydir") == 0o700
    assert mode_of(instance / "designer.db") == mode_of(instance / "secret_key") == 0o600
    assert mode_of(instance / "appendonlydir/redis.aof.1") == 0o600
    assert mode_of(instance / "run.sh") == 0o700
    assert mode_of(outside) == 0o644  # links are not followed


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_a_served_instance_keeps_everything_to_its_account(served_behind_proxy):
    instance = served_behind_proxy.instance
    expected = {
        "designer.db",
        ".demo-loaded",
        "secret_key",
        "redis.aof",
        "redis.log",
        "redis.sock",
        "serve.log",
    }
    found = {path.relative_to(instance).as_posix(): mode_of(path) for path in instance.rglob("*")}
    assert expected <= set(found)
    assert mode_of(instance) == 0o700
    assert {name: mode for name, mode in found.items() if mode & 0o077} == {}
    assert found["designer.db"] == found["redis.aof"] == found[".demo-loaded"] == 0o600
