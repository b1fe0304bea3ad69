"""Typed keys for the routing and knowledge services the console calls."""

from __future__ import annotations

from aiohttp import web

from knowledge.articles import Articles
from knowledge.search import Knowledge
from routing.engine import Router
from routing.offers import OfferBook

OFFERS = web.AppKey("offers", OfferBook)
ROUTER = web.AppKey("router", Router)
KNOWLEDGE = web.AppKey("knowledge", Knowledge)
ARTICLES = web.AppKey("articles", Articles)
