"""Set up a mail app: the servers, ports and security, and the iPhone profile with its QR code."""
from __future__ import annotations

import io

import segno
from flask import current_app, render_template, send_file, url_for
from flask_login import current_user, login_required

from core.extensions import db
from core.mail import clientconfig
from core.services.access import twofactor
from core.services.personal import mailapps

from .blueprint import bp


@bp.route("/mail-app")
@login_required
def mailapp_page():
    """Every server a mail program needs, the sign-in, and the profile as a download and a QR code."""
    profile_url = url_for(".mobileconfig", _external=True)
    # The phone's camera opens the URL in Safari, which signs in and offers the profile.
    qr_code = segno.make(profile_url, error="m").svg_data_uri(scale=4, border=2)
    carddav_server, carddav_book = mailapps.carddav_urls(current_app.config, current_user.address)
    return render_template("portal/mailapps.html", servers=mailapps.servers(current_app.config),
                           carddav_server=carddav_server, carddav_book=carddav_book,
                           carddav_in_profile=bool(current_app.config["CARDDAV_URL"]),
                           host=current_app.config["MAIL_HOSTNAME"], profile_url=profile_url,
                           qr_code=qr_code, two_factor=twofactor.is_on(db.session, current_user.address))


@bp.route("/mail-app/mail.mobileconfig")
@login_required
def mobileconfig():
    """The Apple configuration profile of the person's account (no password in it)."""
    servers = mailapps.servers(current_app.config)
    name = mailapps.display_name(db.session, current_user.address)
    # Only a URL set for phones (MAILROOM_CARDDAV_URL): the default is on loopback.
    profile = clientconfig.mobileconfig(current_user.address, name, servers, current_app.config["CARDDAV_URL"])
    return send_file(io.BytesIO(profile), mimetype=clientconfig.MOBILECONFIG_TYPE, as_attachment=True,
                     download_name=f"{current_user.address}.mobileconfig", max_age=0)
