() => {
  // What Gradio has no option for (ui.py loads this with launch(js=...)):
  // - one live region (#nb-live) that announces each answer once, as plain text, when it is complete
  //   (gr.Chatbot makes its whole log a polite live region, so every streamed piece would be read again,
  //   and names each message by its raw HTML: both are switched off here);
  // - the upload status as a persistent polite live region;
  // - the question's length counter, updated as the user types;
  // - focus back to the question box after an example; the start of the newest answer brought into view;
  //   sources collapsed on narrow screens.
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

  const tidy = () => {
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
