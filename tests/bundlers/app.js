// The page that every bundler project builds (scripts/apps-check.mjs copies
// it into each project's src/ next to its main.js): reads the link server
// and an account from the query string, logs in, and shows the status in
// #status ("loggedIn" once the real server answered loginOk).
export async function run(init, LoginManager, initArgument) {
  const out = document.getElementById("status");
  const query = new URLSearchParams(location.search);
  try {
    await init(initArgument);
    const im = new LoginManager({
      appKey: query.get("appKey"),
      linkUrl: query.get("linkUrl"),
      persistence: "none",
      tabs: "perTab",
    });
    im.on("status", (status) => {
      out.textContent = status;
    });
    await im.login(query.get("accid"), query.get("token"));
    out.textContent = im.status;
  } catch (e) {
    out.textContent = `error: ${e?.code ?? ""} ${e?.message ?? e}`;
  }
}
