//! Reading the collection script's framed output. The input is untrusted:
//! nothing here may panic, loop forever, or allocate beyond the input.

use super::ProbeStatus;

/// What one probe returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutput {
    Ok(Vec<u8>),
    Missing,
    /// Another status from the script (`denied`, `isdir`, `notfile`, `toolarge`,
    /// `unreadable`), or `garbled` when its frame could not be read.
    Status(ProbeStatus),
    /// A composite fact (an sshd configuration with its includes): the
    /// sub-frames `<index>.<k>` that came before the probe's own closing
    /// frame, in order, each with its status and body. What they mean is up
    /// to the probe's reader (`conftext::include`).
    Parts(Vec<Part>),
}

/// One sub-frame of a composite fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub status: String,
    pub body: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("the collection script did not finish (output ended after {complete} of {expected} facts)")]
    Truncated { complete: usize, expected: usize },
}

/// Splits `output` into one [`ProbeOutput`] per probe index `0..count`.
///
/// A frame that does not line up (a file that changed size while it was
/// read) becomes `Status("garbled")`, and reading resumes at the next header
/// carrying the nonce. A missing end marker means the script was cut off.
///
/// Sub-frames (`<index>.<k>`, `k` counting from 0 without gaps) are
/// collected for their probe and returned as [`ProbeOutput::Parts`] when the
/// probe's own frame closes it; a composite with a garbled or out-of-order
/// sub-frame is `Status("garbled")` as a whole.
pub fn parse_output(output: &[u8], nonce: &str, count: usize) -> Result<Vec<ProbeOutput>, FrameError> {
    let prefix = format!("RECTIFY:{nonce}:");
    let end_marker = format!("RECTIFY:{nonce}:end\n");
    let mut results: Vec<Option<ProbeOutput>> = vec![None; count];
    // Sub-frames per probe, and whether any of them was garbled.
    let mut parts: Vec<(Vec<Part>, bool)> = vec![(Vec::new(), false); count];
    let mut pos = 0;
    let mut finished = false;

    while pos < output.len() {
        let rest = &output[pos..];
        if rest.starts_with(end_marker.as_bytes()) {
            finished = true;
            break;
        }
        let Some(header) = parse_header(rest, &prefix) else {
            // Out of step: skip to the next real header.
            match find(&output[pos + 1..], prefix.as_bytes()) {
                Some(offset) => {
                    pos += 1 + offset;
                    continue;
                }
                None => break,
            }
        };
        let body_start = pos + header.header_len;
        let body_end = body_start.saturating_add(header.length);
        if body_end > output.len() {
            // Announced more than is left: a file that shrank while it was
            // read, or a cut-off script. Resume at the next header, if any
            // (the end marker counts), rather than losing what follows.
            settle(
                &mut results,
                &mut parts,
                &header,
                ProbeOutput::Status(ProbeStatus::Garbled),
                b"",
            );
            match find(&output[body_start..], prefix.as_bytes()) {
                Some(offset) => {
                    pos = body_start + offset;
                    continue;
                }
                None => break,
            }
        }
        let body = &output[body_start..body_end];
        let next = &output[body_end..];
        // The body must be followed by another frame or the end marker;
        // otherwise the length was wrong and the body cannot be trusted.
        let lined_up = next.starts_with(prefix.as_bytes());
        let outcome = if !lined_up {
            ProbeOutput::Status(ProbeStatus::Garbled)
        } else {
            match header.status {
                "ok" => ProbeOutput::Ok(body.to_vec()),
                "missing" => ProbeOutput::Missing,
                other => ProbeOutput::Status(ProbeStatus::parse(other)),
            }
        };
        settle(&mut results, &mut parts, &header, outcome, body);
        if lined_up {
            pos = body_end;
        } else {
            match find(&output[body_start..], prefix.as_bytes()) {
                Some(offset) => pos = body_start + offset,
                None => break,
            }
        }
    }

    let complete = results.iter().filter(|r| r.is_some()).count();
    if !finished && complete < count {
        return Err(FrameError::Truncated {
            complete,
            expected: count,
        });
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or(ProbeOutput::Status(ProbeStatus::Garbled)))
        .collect())
}

/// Records one frame: a probe's result (closing its composite, if it had
/// sub-frames), or one sub-frame of a composite.
fn settle(
    results: &mut [Option<ProbeOutput>],
    parts: &mut [(Vec<Part>, bool)],
    header: &Header<'_>,
    outcome: ProbeOutput,
    body: &[u8],
) {
    let index = header.index;
    if index >= results.len() || results[index].is_some() {
        return;
    }
    let (list, garbled) = &mut parts[index];
    match header.sub {
        Some(k) => {
            if k != list.len() || matches!(outcome, ProbeOutput::Status(ProbeStatus::Garbled)) {
                *garbled = true;
            }
            if !*garbled {
                list.push(Part {
                    status: header.status.to_string(),
                    body: body.to_vec(),
                });
            }
        }
        None => {
            results[index] = Some(if *garbled {
                ProbeOutput::Status(ProbeStatus::Garbled)
            } else if !list.is_empty() {
                match outcome {
                    ProbeOutput::Ok(_) => ProbeOutput::Parts(std::mem::take(list)),
                    other => other,
                }
            } else {
                outcome
            });
        }
    }
}

struct Header<'a> {
    index: usize,
    /// `Some(k)` for the sub-frame `<index>.<k>` of a composite fact.
    sub: Option<usize>,
    status: &'a str,
    length: usize,
    header_len: usize,
}

fn parse_header<'a>(data: &'a [u8], prefix: &str) -> Option<Header<'a>> {
    let rest = data.strip_prefix(prefix.as_bytes())?;
    // A header is short; never scan far for its newline.
    let newline = rest.iter().take(64).position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&rest[..newline]).ok()?;
    let mut parts = line.split(':');
    let first = parts.next()?;
    let (index, sub) = match first.split_once('.') {
        Some((index, sub)) => (index.parse().ok()?, Some(sub.parse().ok()?)),
        None => (first.parse().ok()?, None),
    };
    let status = parts.next()?;
    let length = parts.next()?.trim().parse().ok()?;
    if parts.next().is_some() || status.is_empty() {
        return None;
    }
    Some(Header {
        index,
        sub,
        status,
        length,
        header_len: prefix.len() + newline + 1,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_last_frame_that_came_up_short_is_garbled_and_the_run_still_ends() {
        let out = b"RECTIFY:n:0:ok:2\nabRECTIFY:n:1:ok:50\nshortRECTIFY:n:end\n";
        let r = parse_output(out, "n", 2).unwrap();
        assert_eq!(r[0], ProbeOutput::Ok(b"ab".to_vec()));
        assert_eq!(r[1], ProbeOutput::Status(ProbeStatus::Garbled));
    }

    #[test]
    fn frames_in_order() {
        let out = b"RECTIFY:n:0:ok:3\nabcRECTIFY:n:1:missing:0\nRECTIFY:n:end\n";
        assert_eq!(
            parse_output(out, "n", 2).unwrap(),
            vec![ProbeOutput::Ok(b"abc".to_vec()), ProbeOutput::Missing]
        );
    }

    #[test]
    fn a_short_body_is_garbled_but_the_next_frame_survives() {
        let out = b"RECTIFY:n:0:ok:10\nabcRECTIFY:n:1:ok:2\nxyRECTIFY:n:end\n";
        let parsed = parse_output(out, "n", 2).unwrap();
        assert_eq!(parsed[0], ProbeOutput::Status(ProbeStatus::Garbled));
        assert_eq!(parsed[1], ProbeOutput::Ok(b"xy".to_vec()));
    }

    #[test]
    fn missing_end_marker_is_truncation() {
        let out = b"RECTIFY:n:0:ok:3\nabc";
        assert_eq!(
            parse_output(out, "n", 2),
            Err(FrameError::Truncated {
                complete: 1,
                expected: 2
            })
        );
    }

    #[test]
    fn sub_frames_make_a_composite_closed_by_its_own_frame() {
        let out = b"RECTIFY:n:0.0:path:2\n/aRECTIFY:n:0.1:ok:3\nxyzRECTIFY:n:0.2:missing:0\n\
RECTIFY:n:0:ok:0\nRECTIFY:n:1:ok:1\nqRECTIFY:n:end\n";
        let r = parse_output(out, "n", 2).unwrap();
        let part = |status: &str, body: &[u8]| Part {
            status: status.into(),
            body: body.to_vec(),
        };
        assert_eq!(
            r[0],
            ProbeOutput::Parts(vec![part("path", b"/a"), part("ok", b"xyz"), part("missing", b"")])
        );
        assert_eq!(r[1], ProbeOutput::Ok(b"q".to_vec()));
    }

    #[test]
    fn a_composite_with_a_gap_or_a_garbled_part_is_garbled() {
        let gap = b"RECTIFY:n:0.0:path:1\naRECTIFY:n:0.2:ok:0\nRECTIFY:n:0:ok:0\nRECTIFY:n:end\n";
        assert_eq!(
            parse_output(gap, "n", 1).unwrap()[0],
            ProbeOutput::Status(ProbeStatus::Garbled)
        );
        let short = b"RECTIFY:n:0.0:ok:9\naRECTIFY:n:0:ok:0\nRECTIFY:n:end\n";
        assert_eq!(
            parse_output(short, "n", 1).unwrap()[0],
            ProbeOutput::Status(ProbeStatus::Garbled)
        );
        // Never closed: the script stopped inside the composite.
        let open = b"RECTIFY:n:0.0:ok:1\naRECTIFY:n:end\n";
        assert_eq!(
            parse_output(open, "n", 1).unwrap()[0],
            ProbeOutput::Status(ProbeStatus::Garbled)
        );
    }

    #[test]
    fn junk_never_panics() {
        let samples: [&[u8]; 9] = [
            b"",
            b"RECTIFY:n:",
            b"RECTIFY:n:99999999999999999999:ok:1\n",
            b"RECTIFY:n:0:ok:18446744073709551615\nx",
            b"\xff\xfe RECTIFY:n:0:ok:1\nx RECTIFY:n:end\n",
            b"RECTIFY:n:0:ok:-1\n",
            b"RECTIFY:n:0.:ok:1\nx",
            b"RECTIFY:n:.0:ok:1\nx",
            b"RECTIFY:n:0.99999999999999999999999:ok:1\nx",
        ];
        for s in samples {
            let _ = parse_output(s, "n", 1);
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn frame(i: usize, body: &[u8]) -> Vec<u8> {
        let mut out = format!("RECTIFY:n0nce:{i}:ok:{}\n", body.len()).into_bytes();
        out.extend_from_slice(body);
        out
    }

    proptest! {
        /// Any bodies (binary, empty, holding lines that look like
        /// headers) come back exactly.
        #[test]
        fn framed_bodies_round_trip(bodies in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..12)) {
            let mut output = Vec::new();
            for (i, b) in bodies.iter().enumerate() {
                output.extend(frame(i, b));
            }
            output.extend_from_slice(b"RECTIFY:n0nce:end\n");
            let parsed = parse_output(&output, "n0nce", bodies.len()).unwrap();
            for (p, b) in parsed.iter().zip(&bodies) {
                prop_assert_eq!(p, &ProbeOutput::Ok(b.clone()));
            }
        }

        /// Whatever a host sends, parsing ends without panicking and gives
        /// one result per fact or a truncation error.
        #[test]
        fn arbitrary_output_never_panics(noise in prop::collection::vec(any::<u8>(), 0..2000), count in 0usize..20) {
            if let Ok(r) = parse_output(&noise, "n0nce", count) {
                prop_assert_eq!(r.len(), count);
            }
        }

        /// Real frames with garbage spliced in: the frames that stay intact
        /// are still read correctly.
        #[test]
        fn garbage_between_frames_is_skipped(garbage in "[^R]{0,50}", body in prop::collection::vec(any::<u8>(), 0..100)) {
            let mut output = garbage.as_bytes().to_vec();
            output.extend(frame(0, &body));
            output.extend_from_slice(b"RECTIFY:n0nce:end\n");
            let parsed = parse_output(&output, "n0nce", 1).unwrap();
            prop_assert_eq!(&parsed[0], &ProbeOutput::Ok(body));
        }
    }
}
