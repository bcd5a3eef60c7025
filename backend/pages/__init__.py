"""The server's own web pages, for people rather than programs: the manage link's page and the
booking page. Each answers with HTML (never a problem document), rendered from the templates here
with Jinja2, styled and scripted only by the assets here."""
