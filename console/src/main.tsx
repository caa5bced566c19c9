/**
 * The console: a list of runs and a page per run, over workflowd's public HTTP API only.
 * When the server has an API token, the console asks for it once and keeps it in this tab's
 * session storage (no cookie); the page is remounted to load again with it.
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { onTokenNeeded, saveToken, savedToken } from "./api";
import { ListPage } from "./list-page";
import { onLinkClick, uiBase, useRoute } from "./router";
import { RunPage } from "./run-page";
import "./styles.css";

function TokenPrompt({ onSaved, wrong }: { onSaved: () => void; wrong: boolean }) {
  const [value, setValue] = useState("");
  return (
    <main>
      <h1>workflowd</h1>
      <form class="token" onSubmit={(e) => {
        e.preventDefault();
        saveToken(value);
        onSaved();
      }}>
        <p>{wrong ? "That token was not accepted." : "This workflowd needs its API token (DAPR_API_TOKEN)."} It is kept in this tab only.</p>
        <label>API token <input type="password" autocomplete="off" required value={value} onInput={(e) => setValue(e.currentTarget.value)} /></label>
        <button type="submit">Use token</button>
      </form>
    </main>
  );
}

function App() {
  const route = useRoute();
  const [needsToken, setNeedsToken] = useState(false);
  const [generation, setGeneration] = useState(0);
  useEffect(() => onTokenNeeded(() => setNeedsToken(true)), []);
  if (needsToken) {
    return <TokenPrompt wrong={savedToken() !== undefined} onSaved={() => {
      setNeedsToken(false);
      setGeneration(generation + 1);
    }} />;
  }
  return (
    <>
      <header>
        <a class="brand" href={uiBase} onClick={onLinkClick}>workflowd</a>
        <span>workflow runs</span>
      </header>
      {/* A new filter is a new listing: remounted, it starts at its first page. */}
      {route.page === "list" && <ListPage key={`${generation}?${route.query}`} query={route.query} />}
      {route.page === "run" && <RunPage key={`${generation}:${route.instanceId}`} instanceId={route.instanceId} />}
      {route.page === "missing" && (
        <main>
          <h1>Not found</h1>
          <p><a href={uiBase} onClick={onLinkClick}>All runs</a></p>
        </main>
      )}
    </>
  );
}

render(<App />, document.getElementById("app")!);
