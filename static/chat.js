() => {
  // What Gradio has no option for (ui.py loads this with launch(js=...)):
  // - one live region (#nb-live) that announces each answer once, as plain text, when it is complete
  //   (gr.Chatbot makes its whole log a polite live region, so every streamed piece would be read again,
  //   and names each message by its raw HTML: both are switched off here);
  // - the upload status as a persistent polite live region;
  // - the question's length counter, updated as the user types;
  // - focus back to the question box after an example; the start of the newest answer brought into view;
  //   sources collapsed on narrow screens;
  // - the article view: a citation [n], a source's title or a title in the Documents panel opens the article
  //   beside the chat (nb.act, set up in ui.py, sends the request to the server), scrolled to the cited
  //   paragraph; a Remove button in the panel asks the server for a confirmation first.
  const nb = (window.newsbot = window.newsbot || {});
  const format = (n) => n.toLocaleString("en-US");
  const narrow = () => window.matchMedia("(max-width: 640px)").matches;
  const announced = new WeakSet();

  nb.announce = (text, lang) => {
    const region = document.getElementById("nb-live");
    if (!region || !text) return;
    region.textContent = "";
    region.setAttribute("lang", lang || "en");
    window.setTimeout(() => { region.textContent = text; }, 100);
  };

  nb.focusQuestion = () => {
    const box = document.querySelector("#question textarea");
    if (box) box.focus();
  };

  nb.count = () => {
    const box = document.querySelector("#question textarea");
    const counter = document.getElementById("question-count");
    if (!box || !counter) return;
    const max = Number(counter.dataset.max);
    const length = box.value.length;
    const over = length > max;
    counter.textContent = over
      ? `${format(length)} / ${format(max)} characters: ${format(length - max)} too many, please shorten it`
      : `${format(length)} / ${format(max)} characters`;
    counter.classList.toggle("nb-over", over);
    box.setAttribute("aria-invalid", over ? "true" : "false");
    if (over && !nb.wasOver) nb.announce(`The question is longer than the limit of ${format(max)} characters.`);
    nb.wasOver = over;
  };

  nb.settled = () => {
    nb.count();
    const said = (element) => (element.querySelector(".nb-announce") || {}).textContent || "";
    const error = document.querySelector("#question-error .nb-input-error");
    if (error && !announced.has(error)) {
      announced.add(error);
      nb.announce(said(error));
      return;
    }
    const replies = document.querySelectorAll("#chat .nb-reply:not(.nb-streaming)");
    const reply = replies[replies.length - 1];
    if (!reply || replies.length <= (nb.seen || 0)) return;
    nb.seen = replies.length;
    if (narrow()) reply.querySelectorAll("details.nb-sources").forEach((d) => { d.open = false; });
    (reply.closest(".message-row") || reply).scrollIntoView({ block: "start" });
    nb.announce(said(reply), reply.getAttribute("lang"));
    reply.setAttribute("data-settled", "");
  };

  const reference = (element) => {
    const ref = element && element.querySelector(".nb-ref");
    try { return ref ? JSON.parse(ref.textContent) : null; } catch (error) { return null; }
  };

  // The source [n] of a reply: its document, paragraph and highlighted sentences.
  const openSource = (source) => {
    const ref = reference(source);
    if (!ref || !nb.act) return;
    const highlight = Array.from(source.querySelectorAll(".nb-passage mark")).map((m) => m.textContent);
    nb.act({ action: "open", file: ref.file, paragraph: ref.paragraph, highlight });
  };

  const activate = (target) => {
    const marker = target.closest(".nb-reply .nb-text .nb-marker");
    if (marker) {
      const reply = marker.closest(".nb-reply");
      const n = Number((marker.textContent.match(/\d+/) || [0])[0]);
      const source = reply.querySelectorAll(".nb-source")[n - 1];
      if (source) { nb.opener = marker; openSource(source); }
      return true;
    }
    const title = target.closest(".nb-source .nb-doc");
    if (title) { nb.opener = title; openSource(title.closest(".nb-source")); return true; }
    const item = target.closest("#documents li");
    if (item && target.closest(".nb-open-doc") && nb.act) {
      nb.opener = target.closest(".nb-open-doc");
      nb.act({ action: "open", file: (reference(item) || {}).file, paragraph: null, highlight: [] });
      return true;
    }
    if (item && target.closest(".nb-remove-doc") && nb.act) {
      nb.opener = target.closest(".nb-remove-doc");
      nb.asked = "remove";
      nb.act({ action: "remove", file: (reference(item) || {}).file });
      return true;
    }
    return false;
  };

  // After a page action: a removal's confirmation takes the focus (on Cancel, the safe choice); an article
  // shown takes it on its title.
  nb.articleShown = () => {
    if (nb.asked === "remove") {
      nb.asked = null;
      const cancel = document.getElementById("remove-no");
      if (cancel) requestAnimationFrame(() => cancel.focus());
      return;
    }
    const panel = document.getElementById("article-panel");
    if (!panel) return;
    const title = panel.querySelector(".nb-article-title");
    if (title) title.focus({ preventScroll: true });
    const cited = panel.querySelector(".nb-cited");
    const scrolls = panel.scrollHeight > panel.clientHeight + 1 && getComputedStyle(panel).overflowY !== "visible";
    if (scrolls) {  // beside the chat: the panel scrolls itself, the chat stays where it is
      const offset = (element) => element.getBoundingClientRect().top - panel.getBoundingClientRect().top;
      panel.scrollTop = cited ? panel.scrollTop + offset(cited) - panel.clientHeight / 3 : 0;
      panel.scrollIntoView({ block: "nearest" });
    } else {  // below the chat (narrow screens): the page scrolls to it
      (cited || title || panel).scrollIntoView({ block: cited ? "center" : "start" });
    }
    panel.setAttribute("data-shown", String(Date.now()));
  };

  nb.articleClosed = () => {
    if (nb.opener && document.body.contains(nb.opener)) nb.opener.focus();
  };

  // A removal answered (cancelled or done): an article panel showing a document that is no longer listed
  // closes, and the focus goes back to the Remove button, or to the list when that button went with its article.
  nb.removalSettled = () => {
    const shown = document.querySelector("#article .nb-article");
    const file = shown && shown.getAttribute("data-file");
    const listed = (name) => Array.from(document.querySelectorAll("#documents li"))
      .some((li) => (reference(li) || {}).file === name);
    const close = document.getElementById("article-close");
    if (file && !listed(file) && close && close.offsetParent !== null) close.click();
    if (nb.opener && document.body.contains(nb.opener)) { nb.opener.focus(); return; }
    const first = document.querySelector("#documents .nb-open-doc");
    if (first) first.focus();
  };

  document.addEventListener("click", (event) => {
    if (event.target.closest && activate(event.target)) event.preventDefault();
  });
  document.addEventListener("keydown", (event) => {
    if ((event.key === "Enter" || event.key === " ") && event.target.closest &&
        event.target.closest('.nb-reply [role="button"]') && activate(event.target)) event.preventDefault();
  });

  const tidy = () => {
    document.querySelectorAll("#chat .nb-reply .nb-text .nb-marker:not([role]), #chat .nb-source .nb-doc:not([role])")
      .forEach((element) => {
        element.setAttribute("role", "button");
        element.setAttribute("tabindex", "0");
        const source = element.classList.contains("nb-doc");
        element.setAttribute("aria-label", source ? `Open the article: ${element.textContent}`
          : `Open source ${element.textContent} in the article`);
      });
    document.querySelectorAll('#chat [role="log"]:not([aria-live="off"])')
      .forEach((log) => log.setAttribute("aria-live", "off"));
    document.querySelectorAll('#chat [aria-label*="s message: "]').forEach((m) => m.removeAttribute("aria-label"));
    const status = document.getElementById("upload-status");
    if (status && status.getAttribute("role") !== "status") {
      status.setAttribute("role", "status");
      status.setAttribute("aria-live", "polite");
    }
    const box = document.querySelector("#question textarea");
    if (box && !box.hasAttribute("aria-describedby")) {
      box.setAttribute("aria-describedby", "question-count question-error");
      nb.count();
    }
  };
  new MutationObserver(tidy).observe(document.body, {
    childList: true, subtree: true, attributes: true, attributeFilter: ["aria-label", "aria-live"],
  });
  document.addEventListener("input", (event) => {
    if (event.target.closest && event.target.closest("#question")) nb.count();
  });
  tidy();
}
