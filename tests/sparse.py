"""A small, sparse market in the shape of a real marketplace export.

One market (BR), September to November 2026, about 500 orders a month: one
seller with most of the orders and hundreds with a single one, buyers who
almost never come back, a carrier only once an order is handed over, few
cancellations (all by the system or the seller: no buyer cancel requests),
**no contacts** (the table has its header only) and feedback on about one
order in ten, some of it with an e-mail address or a phone number in it.
``tests/test_sparse.py`` renders every readout on it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MARKET = "BR"
MONTHS = ("2026-09-01", "2026-10-01", "2026-11-01")
REVIEWS = (  # (rating, text): what a review section of an export holds
    (5, "Chegou antes do prazo, recomendo."),
    (4, "Produto bom, entrega um pouco demorada."),
    (1, "Não recebi o produto até agora."),
    (2, "Veio diferente do anúncio, quero devolver."),
    (5, None),
    (3, "ok"),
    (1, "Pedido cancelado sem aviso, escreva para joao.silva@example.com"),
    (4, "Gostei. Qualquer coisa meu whats é +55 11 98765-4321"),
)


def generate(seed: int = 7) -> dict[str, pd.DataFrame]:
    """The four contract tables of the sparse market."""
    rng = np.random.default_rng(seed)
    orders = []
    singles = 0
    for month in MONTHS:
        start = pd.Timestamp(month)
        n = int(rng.integers(470, 530))
        created = start + pd.to_timedelta(rng.integers(0, 29 * 86_400, n), unit="s")
        big = rng.random(n) < 0.6
        sellers = np.empty(n, dtype=object)
        sellers[big] = "7c67e1448b00f6e969d365cea6b010ab"
        few = rng.random(n) < 0.15
        sellers[~big & few] = [f"s{i:03d}" for i in rng.integers(0, 12, (~big & few).sum())]
        k = int((~big & ~few).sum())
        sellers[~big & ~few] = [f"{h:032x}" for h in range(singles, singles + k)]
        singles += k
        for i in range(n):
            orders.append((created[i], sellers[i]))
    o = pd.DataFrame(orders, columns=["created_at", "seller_id"]).sort_values("created_at")
    o = o.reset_index(drop=True)
    n = len(o)
    o["order_id"] = [f"{i:032x}" for i in range(10**6, 10**6 + n)]
    o["market"] = MARKET
    repeat = rng.random(n) < 0.003  # buyers almost never order twice
    o["buyer_id"] = [f"b{i:06d}" for i in range(n)]
    o.loc[repeat, "buyer_id"] = "b000001"
    o["category"] = rng.choice(["cama_mesa_banho", "beleza_saude", "esporte_lazer",
                                "informatica_acessorios", "moveis_decoracao"], n,
                               p=[0.3, 0.25, 0.2, 0.15, 0.1])
    o["sales_channel"] = rng.choice(["search", "shop_tab", "other"], n, p=[0.6, 0.3, 0.1])
    o["fulfillment"] = "seller_shipped"
    o["payment_method"] = rng.choice(["card", "bank_transfer", "wallet"], n, p=[0.75, 0.2, 0.05])
    o["gmv_usd"] = np.round(rng.lognormal(3.5, 0.9, n), 2)
    unpaid = rng.random(n) < 0.01
    seller_cancel = ~unpaid & (rng.random(n) < 0.008)
    pre = unpaid | seller_cancel
    o["paid_at"] = (o["created_at"] + pd.Timedelta(hours=2)).where(~unpaid)
    o["shipped_at"] = (o["created_at"] + pd.Timedelta(days=2)).where(~pre)
    o["carrier"] = pd.Series(np.where(pre, None, "Correios"), dtype=object)
    o["delivered_at"] = (o["created_at"] + pd.Timedelta(days=9)).where(~pre)
    cancelled = o[pre]
    c = pd.DataFrame({
        "request_id": [f"r{i:05d}" for i in range(len(cancelled))],
        "order_id": cancelled["order_id"].to_numpy(),
        "initiator": np.where(unpaid[pre], "system", "seller"),
        "reason": np.where(unpaid[pre], "unpaid_timeout", "out_of_stock"),
        "requested_at": (cancelled["created_at"] + pd.Timedelta(days=1)).to_numpy(),
        "outcome": "approved"})
    c["resolved_at"] = c["requested_at"]
    c["auto_resolved"] = True
    contacts = pd.DataFrame({col: pd.Series(dtype=t) for col, t in (
        ("contact_id", object), ("market", object), ("buyer_id", object), ("order_id", object),
        ("created_at", "datetime64[ns]"), ("channel", object), ("reason", object),
        ("handle_time_s", float), ("escalated", bool), ("csat", "Int64"))})
    with_review = o[rng.random(n) < 0.1]
    picks = rng.integers(0, len(REVIEWS), len(with_review))
    feedback = pd.DataFrame({
        "feedback_id": [f"f{i:05d}" for i in range(len(with_review))], "market": MARKET,
        "order_id": with_review["order_id"].to_numpy(),
        "buyer_id": with_review["buyer_id"].to_numpy(),
        "created_at": (with_review["created_at"] + pd.Timedelta(days=10)).to_numpy(),
        "source": "order_review",
        "rating": pd.array([REVIEWS[i][0] for i in picks], dtype="Int64"),
        "text": [REVIEWS[i][1] for i in picks], "language": "pt"})
    feedback = feedback[feedback["created_at"] < pd.Timestamp("2026-12-01")]
    cols = ["order_id", "market", "buyer_id", "seller_id", "category", "sales_channel",
            "fulfillment", "payment_method", "carrier", "gmv_usd", "created_at", "paid_at",
            "shipped_at", "delivered_at"]
    return {"orders": o[cols], "cancellations": c, "contacts": contacts,
            "feedback": feedback.reset_index(drop=True)}
