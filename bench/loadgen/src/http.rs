//! Just enough HTTP/1.1 to create test accounts through the server's
//! `/_test/accounts` hook (keep-alive, Content-Length bodies only).

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A test account: `(accid, token)`.
pub type Account = (String, String);

/// Creates `n` accounts over `parallel` keep-alive connections to `addr`.
pub async fn create_accounts(
    addr: &str,
    n: usize,
    parallel: usize,
) -> Result<Vec<Account>, String> {
    let parallel = parallel.clamp(1, n.max(1));
    let mut tasks = Vec::new();
    for p in 0..parallel {
        let count = n / parallel + usize::from(p < n % parallel);
        let addr = addr.to_owned();
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(&addr).await.map_err(|e| e.to_string())?;
            let mut conn = BufReader::new(stream);
            let mut out = Vec::with_capacity(count);
            for _ in 0..count {
                let v = post_empty(&mut conn, &addr, "/_test/accounts").await?;
                match (v["accid"].as_str(), v["token"].as_str()) {
                    (Some(a), Some(t)) => out.push((a.to_owned(), t.to_owned())),
                    _ => return Err(format!("unexpected answer {v}")),
                }
            }
            Ok::<_, String>(out)
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await.map_err(|e| e.to_string())??);
    }
    Ok(all)
}

async fn post_empty(
    conn: &mut BufReader<TcpStream>,
    host: &str,
    path: &str,
) -> Result<Value, String> {
    let request = format!("POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n");
    conn.get_mut()
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut length = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        if conn.read_line(&mut line).await.map_err(|e| e.to_string())? == 0 {
            return Err("connection closed mid-response".into());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().map_err(|_| "bad content-length")?;
            }
        }
    }
    let mut body = vec![0; length];
    conn.read_exact(&mut body)
        .await
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&body).map_err(|e| e.to_string())
}
