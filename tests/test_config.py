"""Configuration: embedded defaults, environment overrides, the instance secret."""

from designer import create_app


def test_embedded_defaults_live_in_the_instance_folder(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PUBLIC_URL", "SMTP_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DESIGNER_INSTANCE_PATH", str(tmp_path))
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'designer.db'}"
    assert app.config["REDIS_URL"] == f"unix://{tmp_path / 'redis.sock'}"
    assert app.config["REDIS_EMBEDDED"] and app.config["SMTP_CATCHER"]
    assert app.config["SMTP_URL"] == "smtp://127.0.0.1:8025"
    assert app.config["PUBLIC_URL"] == "http://127.0.0.1:5000"
    secret = (tmp_path / "secret_key").read_text()
    assert len(secret) == 64 and app.config["SECRET_KEY"] == secret
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert create_app().config["SECRET_KEY"] == secret  # kept, not regenerated


def test_environment_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("DESIGNER_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("PUBLIC_URL", "https://mail.example.com/")
    monkeypatch.setenv("SMTP_URL", "smtp://mx.example.com:587?security=starttls")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert not app.config["REDIS_EMBEDDED"] and not app.config["SMTP_CATCHER"]
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["PUBLIC_URL"] == "https://mail.example.com"
    assert not (tmp_path / "secret_key").exists()


def test_an_https_public_url_makes_cookies_secure_and_http_leaves_them(tmp_path, monkeypatch):
    monkeypatch.setenv("DESIGNER_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PUBLIC_URL", "https://mail.example.com")
    monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1")
    monkeypatch.setenv("ALLOWED_MAIL_HOSTS", "imap.internal, 10.0.5.0/24")
    config = create_app().config
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["PREFERRED_URL_SCHEME"] == "https"
    assert config["TRUSTED_PROXIES"] == "127.0.0.1"
    assert config["ALLOWED_MAIL_HOSTS"] == "imap.internal, 10.0.5.0/24"
    monkeypatch.setenv("PUBLIC_URL", "http://127.0.0.1:5000")
    config = create_app().config
    assert not config["SESSION_COOKIE_SECURE"] and not config.get("REMEMBER_COOKIE_SECURE")
    assert config["PREFERRED_URL_SCHEME"] == "http"


def test_postgresql_connections_are_pooled_as_set_and_sqlite_left_alone(tmp_path, monkeypatch):
    import pytest

    monkeypatch.setenv("DESIGNER_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    options = create_app().config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options == {"pool_pre_ping": True, "pool_size": 16, "max_overflow": 4}
    monkeypatch.setenv("DATABASE_POOL_SIZE", "30")
    monkeypatch.setenv("DATABASE_MAX_OVERFLOW", "0")
    app = create_app()
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_size"] == 30
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["max_overflow"] == 0
    with app.app_context():
        from designer.extensions import db

        assert db.engine.pool.size() == 30
    monkeypatch.setenv("DATABASE_POOL_SIZE", "0")
    with pytest.raises(ValueError, match="DATABASE_POOL_SIZE must be greater than 0"):
        create_app()
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.delenv("DATABASE_POOL_SIZE")
    assert create_app().config["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": True}


def test_a_web_worker_opens_its_pool_ahead_and_starts_without_a_database(tmp_path, monkeypatch):
    from designer.extensions import db, open_pool

    monkeypatch.setenv("DESIGNER_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    monkeypatch.setenv("DATABASE_POOL_SIZE", "3")
    app = create_app()
    assert open_pool(app) == 3
    with app.app_context():
        assert db.engine.pool.checkedin() == 3  # open, back in the pool, none held
        db.engine.dispose()
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/postgres")
    assert open_pool(create_app()) == 0  # nothing answers: logged, the worker starts
    monkeypatch.delenv("DATABASE_URL")
    assert open_pool(create_app()) == 0  # SQLite: nothing to open ahead
