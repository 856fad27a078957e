"""The console's editing pages: « À améliorer » (missed questions, grouped) and « Réponses »
(every FAQ answer, searchable, editable with a preview and the source checks)."""
from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Tuple
from urllib.parse import quote

from sanic import Sanic, response
from sanic.request import Request

from bot.console import editor
from bot.console.groups import group
from bot.settings import Settings
from bot.text import fold

logger = logging.getLogger("mutu.console")
WHY = {"clarified": "pas comprise", "not_said": "l'infographie ne le dit pas", "out_of_scope": "hors sujet",
       "thumbs_down": "réponse jugée pas utile"}
KEYS = re.compile(r"^[mf]\d{1,12}$")
MIN_EXAMPLES = 15  # as `make validate` wants for every topic
SOURCE_HINT = "Source : infographie « La mutualisation », section "


def groups_of(items: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Groups of similar questions, newest first, each with its distinct phrasings."""
    found = []
    for indexes in group([item["text"] for item in items]):
        members = [items[i] for i in indexes]
        phrasings: Dict[str, str] = {}
        for member in sorted(members, key=lambda m: -m["ts"]):
            phrasings.setdefault(" ".join(fold(member["text"]).split()), member["text"])
        found.append({"ids": ",".join(m["key"] for m in members), "count": len(members),
                      "last": max(m["ts"] for m in members), "phrasings": list(phrasings.values()),
                      "why": sorted({WHY[m["why"]] for m in members}),
                      "comments": [m["comment"] for m in members if m.get("comment")]})
    return sorted(found, key=lambda g: -g["last"])


def parse_keys(raw: str) -> List[str]:
    keys = [k.strip() for k in (raw or "").split(",") if k.strip()]
    return [k for k in keys if KEYS.match(k)][:5000]


def form_buttons(form: Any) -> List[Tuple[str, str]]:
    buttons = []
    for n in range(3):
        title = (form.get(f"button_title_{n}") or "").strip()
        target = (form.get(f"button_topic_{n}") or "").strip()
        if title or target:
            buttons.append((title[:80], f"/faq/{target}" if target else ""))
    return buttons


def register(app: Sanic, conf: Settings) -> None:
    guarded, page, blocking, store = app.ctx.console_register_more
    project = conf.project_dir

    def publisher() -> Any:
        if getattr(app.ctx, "console_publisher", None) is None:
            from bot.console.publish import Publisher
            app.ctx.console_publisher = Publisher(conf, store())
        return app.ctx.console_publisher

    def choices() -> List[Tuple[str, str]]:
        from bot.console.web import topic_labels
        labels = topic_labels(conf)
        return sorted(((topic, labels.get(topic, topic)) for topic in editor.answers(project)),
                      key=lambda kv: fold(kv[1]))

    # ---- À améliorer ---------------------------------------------------------------------------
    @guarded
    async def improve(request: Request, session: Any) -> response.HTTPResponse:
        def work() -> List[Dict[str, Any]]:
            try:
                store().ingest()
            except Exception:  # noqa: BLE001
                logger.exception("reading the conversations failed")
            return groups_of(store().missed_items())
        groups = await blocking(work)
        return page("ameliorer.html", request, session, active="ameliorer", groups=groups[:200],
                    total=len(groups), topics=await blocking(choices), notice=request.args.get("ok"), why=WHY)

    @guarded
    async def attach(request: Request, _session: Any) -> response.HTTPResponse:
        keys, topic = parse_keys(request.form.get("keys", "")), (request.form.get("topic") or "").strip()
        if topic not in await blocking(lambda: editor.answers(project)):
            return response.text("Choisissez une réponse existante.", status=400)

        def work() -> int:
            items = store().items(keys)
            publisher().before_change()
            added = editor.add_examples(project, f"faq/{topic}", [i["text"] for i in items])
            store().mark_handled([i["key"] for i in items], f"attached:{topic}")
            if added:
                store().record_change(f"{len(added)} formulation(s) ajoutée(s) aux exemples de « {topic} »")
            return len(added)
        added = await blocking(lambda: store().project.edit(work))
        logger.info("console: %d examples added to faq/%s", added, topic)
        message = (f"{added} formulation{'s' if added > 1 else ''} ajoutée{'s' if added > 1 else ''} "
                   f"à « {topic} ». Publiez pour que Mutu les apprenne.") if added else \
            "Ces formulations étaient déjà connues de Mutu : rien à ajouter."
        return response.redirect("/console/ameliorer?ok=" + quote(message), status=303)

    @guarded
    async def ignore(request: Request, _session: Any) -> response.HTTPResponse:
        keys = parse_keys(request.form.get("keys", ""))
        done = await blocking(store().mark_handled, keys, "ignored")
        return response.redirect("/console/ameliorer?ok=" + quote(f"{done} question(s) ignorée(s)."), status=303)

    async def new_answer_page(request: Request, session: Any, keys: List[str], status: int = 200,
                              problems: List[str] = (), values: Dict[str, Any] = None) -> response.HTTPResponse:
        items = await blocking(store().items, keys)
        phrasings = list(dict.fromkeys(editor.clean_example(i["text"]) for i in items))
        values = values or {"question": phrasings[0] if phrasings else "", "text": "\n" + SOURCE_HINT,
                            "examples": "\n".join(phrasings), "under": "", "buttons": []}
        preview = editor.preview(values["text"]) if values.get("text", "").strip() else None
        return page("nouvelle.html", request, session, status=status, active="ameliorer",
                    keys=",".join(keys), values=values, problems=problems, topics=await blocking(choices),
                    preview=preview, min_examples=MIN_EXAMPLES)

    @guarded
    async def new_form(request: Request, session: Any) -> response.HTTPResponse:
        return await new_answer_page(request, session, parse_keys(request.args.get("keys", "")))

    @guarded
    async def new_save(request: Request, session: Any) -> response.HTTPResponse:
        form = request.form
        keys = parse_keys(form.get("keys", ""))
        question = " ".join((form.get("question") or "").split())[:80]
        text = (form.get("text") or "").replace("\r\n", "\n").strip()[:3000]
        under = (form.get("under") or "").strip()
        buttons = form_buttons(form)
        examples = [e for e in (form.get("examples") or "").replace("\r\n", "\n").split("\n") if e.strip()][:300]
        values = {"question": question, "text": text, "examples": "\n".join(examples), "under": under,
                  "buttons": buttons}
        if form.get("action") == "preview":
            return await new_answer_page(request, session, keys, values=values)

        def check() -> Tuple[List[str], str]:
            from bot.checks import check_texts
            known = editor.answers(project)
            topic = editor.topic_key(question, list(known))
            problems = []
            if not question:
                problems.append("Écrivez la question, telle qu'elle apparaîtra sur le bouton.")
            if under not in known:
                problems.append("Choisissez sous quelle réponse proposer un bouton vers la nouvelle réponse.")
            problems += editor.problems(project, topic, text, buttons)
            problems += [editor.in_french(p) for p in check_texts([(f"faq.yml:utter_faq/{under} (button)", question)])]
            distinct = {fold(editor.clean_example(e)) for e in examples + [question]}
            if len(distinct) < MIN_EXAMPLES:
                problems.append(f"Donnez au moins {MIN_EXAMPLES} façons différentes de poser la question "
                                f"(une par ligne); il y en a {len(distinct)}.")
            return problems, topic
        problems, topic = await blocking(check)
        if problems:
            return await new_answer_page(request, session, keys, status=422, problems=problems, values=values)

        def save() -> int:
            publisher().before_change()
            editor.add_answer(project, topic, text, buttons)
            added = editor.new_intent(project, f"faq/{topic}", [question] + examples)
            editor.add_button(project, under, question, f"/faq/{topic}")
            store().mark_handled(keys, f"new:{topic}")
            store().record_change(f"nouvelle réponse « {topic} » ({len(added)} exemples), proposée sous « {under} »")
            return len(added)
        await blocking(lambda: store().project.edit(save))
        logger.info("console: new topic faq/%s", topic)
        return response.redirect("/console/ameliorer?ok=" + quote(
            f"Nouvelle réponse « {question} » enregistrée. Publiez pour que Mutu la donne."), status=303)

    # ---- Réponses ------------------------------------------------------------------------------
    @guarded
    async def answers_list(request: Request, session: Any) -> response.HTTPResponse:
        query = (request.args.get("q") or "").strip()[:200]

        def work() -> List[Tuple[str, str, editor.Answer]]:
            from bot.console.web import topic_labels
            labels = topic_labels(conf)
            rows = [(topic, labels.get(topic, topic), answer) for topic, answer in editor.answers(project).items()]
            if query:
                words = fold(query).split()
                rows = [r for r in rows if all(w in fold(f"{r[0]} {r[1]} {r[2].text}") for w in words)]
            return rows
        rows = await blocking(work)
        return page("reponses.html", request, session, active="reponses", rows=rows, query=query,
                    notice=request.args.get("ok"))

    async def edit_page(request: Request, session: Any, topic: str, values: Dict[str, Any] = None,
                        problems: List[str] = (), status: int = 200) -> response.HTTPResponse:
        current = (await blocking(lambda: editor.answers(project))).get(topic)
        if current is None:
            return response.text("Réponse introuvable", status=404)
        values = values or {"text": current.text, "buttons": current.buttons}
        from bot.console.web import topic_labels
        return page("reponse.html", request, session, status=status, active="reponses", topic=topic,
                    label=topic_labels(conf).get(topic, topic),
                    values=values, problems=problems, preview=editor.preview(values["text"]),
                    topics=await blocking(choices))

    @guarded
    async def edit_form(request: Request, session: Any, topic: str) -> response.HTTPResponse:
        return await edit_page(request, session, topic)

    @guarded
    async def edit_save(request: Request, session: Any, topic: str) -> response.HTTPResponse:
        if topic not in await blocking(lambda: editor.answers(project)):
            return response.text("Réponse introuvable", status=404)
        text = (request.form.get("text") or "").replace("\r\n", "\n").strip()[:3000]
        buttons = form_buttons(request.form)
        values = {"text": text, "buttons": buttons}
        if request.form.get("action") == "preview":
            return await edit_page(request, session, topic, values)
        problems = await blocking(editor.problems, project, topic, text, buttons)
        if problems:
            return await edit_page(request, session, topic, values, problems, status=422)

        def save() -> None:
            publisher().before_change()
            editor.save_answer(project, topic, text, buttons)
            store().record_change(f"réponse « {topic} » modifiée")
        await blocking(lambda: store().project.edit(save))
        logger.info("console: answer faq/%s edited", topic)
        return response.redirect("/console/reponses?ok=" + quote(
            f"Réponse « {topic} » enregistrée. Publiez pour que Mutu la donne."), status=303)

    # ---- Publier --------------------------------------------------------------------------------
    @guarded
    async def publish_page(request: Request, session: Any) -> response.HTTPResponse:
        def work() -> Dict[str, Any]:
            pub = publisher()
            rows = pub.list()
            running = next((r for r in rows if r.status == "running"), None)
            last_ok = next((r for r in rows if r.status == "ok" and not r.undo_of), None)
            last_any_ok = next((r for r in rows if r.status == "ok"), None)
            return {"rows": rows, "running": running, "state": pub.status(running.id) if running else None,
                    "undoable": last_ok.id if last_ok and last_any_ok and last_ok.id == last_any_ok.id else None,
                    "changes": store().pending_changes(), "api": bool(conf.api_token)}
        values = await blocking(work)
        return page("publier.html", request, session, active="publier", notice=request.args.get("ok"),
                    error=request.args.get("erreur"), **values)

    @guarded
    async def publish_start(request: Request, _session: Any) -> response.HTTPResponse:
        try:
            number = await blocking(publisher().start, "coordonnatrice (console)")
        except editor.EditError as exc:
            return response.redirect("/console/publier?erreur=" + quote(str(exc)), status=303)
        logger.info("console: publication %d started", number)
        return response.redirect("/console/publier", status=303)

    @guarded
    async def publish_state(request: Request, _session: Any, number: int) -> response.HTTPResponse:
        return response.json(await blocking(publisher().status, number))

    @guarded
    async def publish_undo(request: Request, _session: Any, number: int) -> response.HTTPResponse:
        try:
            await blocking(publisher().undo, number, "coordonnatrice (console)")
        except editor.EditError as exc:
            return response.redirect("/console/publier?erreur=" + quote(str(exc)), status=303)
        logger.info("console: publication %d undone", number)
        return response.redirect("/console/publier", status=303)

    app.add_route(publish_page, "/console/publier", methods=["GET"], name="console_publish")
    app.add_route(publish_start, "/console/publier", methods=["POST"], name="console_publish_start")
    app.add_route(publish_state, "/console/publier/<number:int>/etat", methods=["GET"], name="console_publish_state")
    app.add_route(publish_undo, "/console/publier/<number:int>/annuler", methods=["POST"], name="console_publish_undo")
    app.add_route(improve, "/console/ameliorer", methods=["GET"], name="console_improve")
    app.add_route(attach, "/console/ameliorer/rattacher", methods=["POST"], name="console_attach")
    app.add_route(ignore, "/console/ameliorer/ignorer", methods=["POST"], name="console_ignore")
    app.add_route(new_form, "/console/ameliorer/nouvelle", methods=["GET"], name="console_new_form")
    app.add_route(new_save, "/console/ameliorer/nouvelle", methods=["POST"], name="console_new_save")
    app.add_route(answers_list, "/console/reponses", methods=["GET"], name="console_answers")
    app.add_route(edit_form, "/console/reponses/<topic:str>", methods=["GET"], name="console_answer_form")
    app.add_route(edit_save, "/console/reponses/<topic:str>", methods=["POST"], name="console_answer_save")
