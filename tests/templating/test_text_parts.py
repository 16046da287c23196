"""Large templates save quickly: their text part is derived by a job just after."""

from designer import broker
from designer.templating import text_parts
from designer.templating.compiler import TEXT_NOW_MAX, compile_source, text_part_of
from designer.templating.render import VersionRenderer, plain_version
from designer.templating.versions import add_version, create_template

SECTION = (
    "<mj-section><mj-column><mj-text>Paragraph {i} for {{{{ contact.first_name }}}}: "
    "<a href='https://example.com/{i}'>read more</a></mj-text></mj-column></mj-section>"
)
DATA = {"contact": {"first_name": "Ann"}, "locale": "en"}


def mjml(sections):
    body = "".join(SECTION.format(i=i) for i in range(sections))
    return f"<mjml><mj-body>{body}</mj-body></mjml>"


def large_source():
    """MJML whose compiled HTML is longer than ``TEXT_NOW_MAX``."""
    source = mjml(800)
    assert len(compile_source("mjml", source, text_part=False).html) > TEXT_NOW_MAX
    return source


def queued_text_jobs():
    queue = broker.get_queue(broker.EMAILS)
    return [job.args for job in queue.get_jobs() if job.func_name == broker.DERIVE_TEXT_PART]


def test_a_small_template_has_its_text_part_at_once(app):
    template = create_template("Small", mjml(3), subject="Hi")
    version = template.versions[0]
    assert not version.text_pending
    assert "Paragraph 2 for {{ contact.first_name }}" in version.text_template
    assert queued_text_jobs() == []


def test_a_large_template_is_saved_without_and_a_job_derives_it(app):
    template = create_template("Large", mjml(3), subject="Hi")
    version = add_version(template, large_source())
    assert version.text_pending and version.text_template == ""
    assert queued_text_jobs() == [(version.id,)]

    assert text_parts.derive_pending(version.id) is True
    assert not version.text_pending
    assert version.text_template == text_part_of(version.compiled_html)
    assert "Paragraph 799 for {{ contact.first_name }}" in version.text_template
    assert text_parts.derive_pending(version.id) is False  # done once
    assert text_parts.derive_pending(10**9) is False  # a version deleted since


def test_mail_from_a_pending_version_still_has_its_text_part(app):
    template = create_template("Large", large_source(), subject="Hi {{ contact.first_name }}")
    version = template.versions[0]
    assert version.text_pending
    rendered = VersionRenderer(plain_version(version), tracked=False).render(DATA)
    assert "Paragraph 0 for Ann: read more <https://example.com/0>" in rendered.text
    text_parts.derive_pending(version.id)
    again = VersionRenderer(plain_version(version), tracked=False).render(DATA)
    assert again.text == rendered.text


def test_the_job_name_resolves_to_the_workers_job(app):
    from workers import jobs

    template = create_template("Large", large_source(), subject="Hi")
    (job,) = [
        job
        for job in broker.get_queue(broker.EMAILS).get_jobs()
        if job.func_name == broker.DERIVE_TEXT_PART
    ]
    assert job.func is jobs.derive_text_part
    assert template.versions[0].text_pending
