"""The core and an AAA server over RADIUS: the Default Credentials Server of TS 33.501 I.9.2.3."""
