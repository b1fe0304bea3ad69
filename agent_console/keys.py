"""Typed keys for the routing and knowledge services the console calls."""

from __future__ import annotations

from aiohttp import web

from knowledge.articles import Articles
from knowledge.search import Knowledge
from routing.engine import Router
from routing.identity.directory import CustomerDirectory
from routing.offers import OfferBook

OFFERS = web.AppKey("offers", OfferBook)
ROUTER = web.AppKey("router", Router)
KNOWLEDGE = web.AppKey("knowledge", Knowledge)
ARTICLES = web.AppKey("articles", Articles)
# The customer identity index, kept up to date with the database (hub.app sets it).
DIRECTORY = web.AppKey("customer_directory", CustomerDirectory)
