"""The dry-run tester: paste a message, or pick one from a folder, and see what would happen."""
from __future__ import annotations

from flask import current_app, render_template, request
from flask_login import current_user, login_required

from core.services.personal import dryrun

from .blueprint import bp
from .auth.current import mail_connection
from .outcome import attempt
from .stores import own_folders, sieve_store


@bp.route("/filters/test", methods=["GET", "POST"])
@login_required
def tester():
    """Run the server's Sieve interpreter on one message without carrying anything out."""
    folders = own_folders()
    folder = request.values.get("folder", "INBOX")
    folder = folder if folder in folders else "INBOX"
    with sieve_store() as store:
        scripts = store.listing()
    with mail_connection() as client:
        recent = dryrun.recent_messages(client, folder)
    page = {"folders": folders, "folder": folder, "recent": recent, "scripts": scripts,
            "script": request.values.get("script", scripts.active or ""),
            "message": request.form.get("message", ""), "uid": request.form.get("uid", ""),
            "report": None, "errors": {}}
    if request.method == "GET":
        return render_template("portal/tester.html", **page)
    found = {}

    def work():
        uid = page["uid"]
        if uid.isdigit():
            with mail_connection() as client:
                raw = dryrun.picked_message(client, folder, int(uid))
        else:
            raw = dryrun.message_bytes(page["message"])
        with sieve_store() as store:
            found["report"] = dryrun.run(current_app.config, store, current_user.address, raw,
                                         page["script"] or None)

    outcome = attempt(work)
    page.update(report=found.get("report"), errors=outcome.errors)
    return render_template("portal/tester.html", **page), outcome.status
