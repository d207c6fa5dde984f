// The login page: the admin token (<data-dir>/admin.token on the cloud host) in a password field.
export function LoginPage(props: { next: string; error?: string }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Log in · levee</title>
        <link rel="stylesheet" href="/ui/assets/dashboard.css" />
      </head>
      <body class="login">
        <form method="post" action="/ui/login" class="login-box">
          <h1>levee</h1>
          <p>The admin token is in &lt;data-dir&gt;/admin.token on the cloud host.</p>
          {props.error ? (
            <p class="error" role="alert">
              {props.error}
            </p>
          ) : null}
          <label>
            Admin token
            <input type="password" name="token" autocomplete="current-password" required autofocus />
          </label>
          <input type="hidden" name="next" value={props.next} />
          <button type="submit">Log in</button>
        </form>
      </body>
    </html>
  );
}
