//! JSON-RPC over standard input and output with `Content-Length` framing.
//!
//! lsp-server's own stdio transport stops reading at the first message that is not valid
//! JSON-RPC; this one answers such a message with a JSON-RPC error (`id: null`) and reads on.

use std::io::{self, BufRead, Write};
use std::thread;

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use lsp_server::{Connection, ErrorCode, Message};

/// The connection, and the threads to join after the last message.
pub struct Transport {
    pub connection: Connection,
    reader: thread::JoinHandle<()>,
    writer: thread::JoinHandle<()>,
}

impl Transport {
    pub fn stdio() -> io::Result<Transport> {
        let (to_writer, from_server) = unbounded::<Message>();
        let (to_server, from_reader) = bounded::<Message>(0);
        let writer = thread::Builder::new()
            .name("lsp-writer".to_string())
            .spawn(move || write_messages(&from_server))?;
        let reader = thread::Builder::new()
            .name("lsp-reader".to_string())
            .spawn(move || read_messages(&mut io::stdin().lock(), &to_server))?;
        Ok(Transport {
            connection: Connection {
                sender: to_writer,
                receiver: from_reader,
            },
            reader,
            writer,
        })
    }

    /// Closes the connection and waits for the writer to flush. The reader is left blocked on
    /// standard input when the client keeps it open; the process exits without it.
    pub fn finish(self) {
        drop(self.connection);
        let _ = self.writer.join();
        if self.reader.is_finished() {
            let _ = self.reader.join();
        }
    }
}

fn write_messages(messages: &Receiver<Message>) {
    for message in messages {
        let written = message.write(&mut io::stdout().lock());
        if written.is_err() {
            break;
        }
    }
}

/// Reads framed messages until end of input, an `exit` notification, or a server that no
/// longer listens.
fn read_messages(input: &mut impl BufRead, to_server: &Sender<Message>) {
    loop {
        let body = match read_frame(input) {
            Ok(Some(body)) => body,
            Ok(None) => return,
            Err(Frame::Malformed(problem)) => {
                eprintln!("isolint lsp: ignored a malformed message: {problem}");
                reply_error(ErrorCode::ParseError, &problem);
                continue;
            }
            Err(Frame::Io(error)) => {
                eprintln!("isolint lsp: cannot read standard input: {error}");
                return;
            }
        };
        let message = match serde_json::from_str::<serde_json::Value>(&body) {
            Err(error) => {
                reply_error(ErrorCode::ParseError, &format!("not JSON: {error}"));
                continue;
            }
            Ok(value) => match serde_json::from_value::<Message>(value) {
                Ok(message) => message,
                Err(error) => {
                    reply_error(
                        ErrorCode::InvalidRequest,
                        &format!("not a JSON-RPC request, response or notification: {error}"),
                    );
                    continue;
                }
            },
        };
        let is_exit = matches!(&message, Message::Notification(n) if n.method == "exit");
        if to_server.send(message).is_err() || is_exit {
            return;
        }
    }
}

enum Frame {
    Malformed(String),
    Io(io::Error),
}

/// One message body. Headers end at an empty line; a frame without a usable `Content-Length`
/// is skipped up to that line.
fn read_frame(input: &mut impl BufRead) -> Result<Option<String>, Frame> {
    let mut length = None;
    let mut problem = None;
    let mut headers = 0;
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line).map_err(Frame::Io)? == 0 {
            return Ok(None);
        }
        let header = line.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            if headers > 0 {
                break;
            }
            // Blank lines between messages.
            continue;
        }
        headers += 1;
        match header.split_once(':') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                match value.trim().parse::<usize>() {
                    Ok(value) => length = Some(value),
                    Err(_) => problem = Some(format!("bad Content-Length header `{header}`")),
                }
            }
            Some(_) => {}
            None => problem = Some(format!("malformed header `{header}`")),
        }
    }
    let Some(length) = length.filter(|_| problem.is_none()) else {
        return Err(Frame::Malformed(
            problem.unwrap_or_else(|| "no Content-Length header".to_string()),
        ));
    };
    let mut body = vec![0; length];
    input.read_exact(&mut body).map_err(Frame::Io)?;
    String::from_utf8(body)
        .map(Some)
        .map_err(|_| Frame::Malformed("body is not UTF-8".to_string()))
}

/// A JSON-RPC error for a message whose id cannot be known, written straight to standard
/// output (lsp-server's `Response` cannot carry a null id).
fn reply_error(code: ErrorCode, message: &str) {
    let reply = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {"code": code as i32, "message": message},
    })
    .to_string();
    let mut stdout = io::stdout().lock();
    let _ = write!(stdout, "Content-Length: {}\r\n\r\n{reply}", reply.len());
    let _ = stdout.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &str) -> Vec<Result<Option<String>, String>> {
        let mut input = io::Cursor::new(input.as_bytes().to_vec());
        let mut out = Vec::new();
        loop {
            match read_frame(&mut input) {
                Ok(None) => return out,
                Ok(Some(body)) => out.push(Ok(Some(body))),
                Err(Frame::Malformed(problem)) => out.push(Err(problem)),
                Err(Frame::Io(error)) => {
                    out.push(Err(error.to_string()));
                    return out;
                }
            }
        }
    }

    #[test]
    fn reads_on_after_a_frame_without_length() {
        let read = frames("Content-Type: x\r\n\r\nContent-Length: 2\r\n\r\n{}");
        assert_eq!(
            read,
            vec![
                Err("no Content-Length header".to_string()),
                Ok(Some("{}".to_string()))
            ]
        );
    }

    #[test]
    fn a_bad_length_is_reported() {
        let read = frames("Content-Length: two\r\n\r\nContent-Length: 2\r\n\r\n[]");
        assert_eq!(
            read[0],
            Err("bad Content-Length header `Content-Length: two`".into())
        );
        assert_eq!(read[1], Ok(Some("[]".to_string())));
    }
}
