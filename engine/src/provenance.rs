//! Provenance: every result says, inside the file, that it is an AI-assisted colorization and
//! of what. An XMP packet (IPTC digital source type, the AI system, the software, the date, the
//! original's content hash and name, and the original's own descriptive fields) is added to the
//! encoded PNG, JPEG or TIFF as a metadata chunk, segment or tag; the pixels are not encoded
//! again.

use img_parts::jpeg::{markers, Jpeg, JpegSegment};
use img_parts::png::{Png, PngChunk};
use img_parts::{Bytes, ImageEXIF};

use crate::error::{EngineError, Result};

/// IPTC's term for media made by combining captured media with a trained model's output.
pub const DIGITAL_SOURCE_TYPE: &str =
    "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia";
/// The namespace of Tinct's own XMP properties.
pub const TINCT_NS: &str = "https://github.com/tinct-archive/tinct/ns/provenance/1.0/";

const XMP_JPEG_HEADER: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const XMP_PNG_KEYWORD: &[u8] = b"XML:com.adobe.xmp";

/// The original's descriptive fields, carried over to the result.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Descriptive {
    pub title: Option<String>,
    pub description: Option<String>,
    pub creator: Option<String>,
    pub rights: Option<String>,
    /// As the original gives it (EXIF `DateTimeOriginal` or XMP `photoshop:DateCreated`).
    pub date_taken: Option<String>,
}

/// What a result is, in plain words, given the summary of a person's correction if it has one:
/// the words of its XMP label, its Content Credentials and the ZIP manifest.
pub fn label(correction_summary: Option<&str>) -> String {
    match correction_summary {
        None => "AI-assisted colorization".to_string(),
        Some(summary) => {
            format!("AI-assisted colorization; colours corrected by a person: {summary}")
        }
    }
}

/// What a result says about itself.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// The model's registered name, e.g. `tinct-mini` or `ddcolor_paper_tiny`.
    pub model: String,
    pub model_sha256: String,
    pub input_size: u32,
    pub preset: String,
    /// `Tinct 0.1.0`.
    pub software: String,
    /// When the result was made (ISO 8601, UTC).
    pub created: String,
    pub original_sha256: String,
    pub original_name: String,
    pub carried: Descriptive,
    /// Set on a version a person corrected.
    pub correction: Option<CorrectionRecord>,
}

/// A person's correction of the model's colours, as a corrected version records it.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrectionRecord {
    /// In plain words: "3 hints, strength 80 %".
    pub summary: String,
    /// The correction as JSON (`strength`, `hints`), for programs.
    pub json: String,
    /// The person who made it.
    pub corrected_by: String,
    /// The version it corrects (a job id), whose model colours it starts from.
    pub corrects: String,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

impl Provenance {
    /// The AI system as IPTC's `AISystemUsed` names it.
    pub fn ai_system(&self) -> String {
        let prefix: String = self.model_sha256.chars().take(12).collect();
        format!("{} (sha256 {prefix})", self.model)
    }

    /// What the result is, in plain words.
    pub fn label(&self) -> String {
        label(self.correction.as_ref().map(|c| c.summary.as_str()))
    }

    /// A complete XMP packet.
    pub fn xmp(&self) -> String {
        let alt = |name: &str, value: &Option<String>| {
            value.as_ref().map_or_else(String::new, |v| {
                format!(
                    "   <{name}><rdf:Alt><rdf:li xml:lang=\"x-default\">{}</rdf:li></rdf:Alt></{name}>\n",
                    escape(v)
                )
            })
        };
        let creator = self.carried.creator.as_ref().map_or_else(String::new, |c| {
            format!(
                "   <dc:creator><rdf:Seq><rdf:li>{}</rdf:li></rdf:Seq></dc:creator>\n",
                escape(c)
            )
        });
        let date_taken = self
            .carried
            .date_taken
            .as_ref()
            .map_or_else(String::new, |d| {
                format!(
                    "   <photoshop:DateCreated>{}</photoshop:DateCreated>\n",
                    escape(d)
                )
            });
        let e = |s: &str| escape(s);
        let correction = self.correction.as_ref().map_or_else(String::new, |c| {
            format!(
                "   <tinct:CorrectedBy>{}</tinct:CorrectedBy>\n   <tinct:Corrects>{}</tinct:Corrects>\n   <tinct:Correction>{}</tinct:Correction>\n",
                e(&c.corrected_by),
                e(&c.corrects),
                e(&c.json)
            )
        });
        format!(
            "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n\
 <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
  <rdf:Description rdf:about=\"\"\n\
    xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n\
    xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n\
    xmlns:photoshop=\"http://ns.adobe.com/photoshop/1.0/\"\n\
    xmlns:Iptc4xmpExt=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\"\n\
    xmlns:tinct=\"{TINCT_NS}\">\n\
   <Iptc4xmpExt:DigitalSourceType>{DIGITAL_SOURCE_TYPE}</Iptc4xmpExt:DigitalSourceType>\n\
   <Iptc4xmpExt:AISystemUsed>{ai}</Iptc4xmpExt:AISystemUsed>\n\
   <Iptc4xmpExt:AISystemVersionUsed>{sha}</Iptc4xmpExt:AISystemVersionUsed>\n\
   <xmp:CreatorTool>{software}</xmp:CreatorTool>\n\
   <xmp:CreateDate>{created}</xmp:CreateDate>\n\
   <tinct:Label>{label}</tinct:Label>\n\
   <tinct:Model>{model}</tinct:Model>\n\
   <tinct:ModelSHA256>{sha}</tinct:ModelSHA256>\n\
   <tinct:InputSize>{size}</tinct:InputSize>\n\
   <tinct:Preset>{preset}</tinct:Preset>\n\
   <tinct:OriginalSHA256>{original_sha}</tinct:OriginalSHA256>\n\
   <tinct:OriginalFileName>{original_name}</tinct:OriginalFileName>\n\
{correction}{title}{description}{creator}{rights}{date_taken}  </rdf:Description>\n\
 </rdf:RDF>\n\
</x:xmpmeta>\n\
<?xpacket end=\"w\"?>",
            ai = e(&self.ai_system()),
            label = e(&self.label()),
            sha = e(&self.model_sha256),
            software = e(&self.software),
            created = e(&self.created),
            model = e(&self.model),
            size = self.input_size,
            preset = e(&self.preset),
            original_sha = e(&self.original_sha256),
            original_name = e(&self.original_name),
            title = alt("dc:title", &self.carried.title),
            description = alt("dc:description", &self.carried.description),
            rights = alt("dc:rights", &self.carried.rights),
        )
    }
}

fn metadata_error(e: img_parts::Error) -> EngineError {
    EngineError::Encode(format!("the provenance metadata could not be added: {e}"))
}

/// Adds `xmp` to an encoded PNG (an `iTXt` chunk after the header), JPEG (an `APP1` segment
/// after the others at the start) or TIFF (tag 700), replacing an XMP packet already there.
/// Pixel data is copied as it is.
pub fn embed_xmp(encoded: Vec<u8>, xmp: &str) -> Result<Vec<u8>> {
    let bytes = Bytes::from(encoded);
    if bytes.starts_with(b"\x89PNG") {
        let mut png = Png::from_bytes(bytes).map_err(metadata_error)?;
        png.chunks_mut().retain(|c| !is_png_xmp(c));
        // iTXt: keyword, NUL, compression flag 0, method 0, empty language, NUL, empty
        // translated keyword, NUL, then the UTF-8 text.
        let mut data = Vec::with_capacity(xmp.len() + 24);
        data.extend_from_slice(XMP_PNG_KEYWORD);
        data.extend_from_slice(&[0, 0, 0, 0, 0]);
        data.extend_from_slice(xmp.as_bytes());
        png.chunks_mut()
            .insert(1, PngChunk::new(*b"iTXt", Bytes::from(data)));
        Ok(png.encoder().bytes().to_vec())
    } else if bytes.starts_with(&[0xFF, 0xD8]) {
        let mut jpeg = Jpeg::from_bytes(bytes).map_err(metadata_error)?;
        jpeg.segments_mut().retain(|s| !is_jpeg_xmp(s));
        let mut data = Vec::with_capacity(xmp.len() + XMP_JPEG_HEADER.len());
        data.extend_from_slice(XMP_JPEG_HEADER);
        data.extend_from_slice(xmp.as_bytes());
        if data.len() > 65_533 {
            return Err(EngineError::Encode(
                "the XMP packet is too large for JPEG".into(),
            ));
        }
        // After JFIF/EXIF (APP0/APP1), before everything else.
        let at = jpeg
            .segments()
            .iter()
            .take_while(|s| matches!(s.marker(), markers::APP0 | markers::APP1))
            .count();
        jpeg.segments_mut().insert(
            at,
            JpegSegment::new_with_contents(markers::APP1, Bytes::from(data)),
        );
        Ok(jpeg.encoder().bytes().to_vec())
    } else if crate::tiff_xmp::is_tiff(&bytes) {
        crate::tiff_xmp::embed(bytes.to_vec(), xmp)
    } else {
        Err(EngineError::Encode(
            "provenance metadata can be added to PNG, JPEG and TIFF results only".into(),
        ))
    }
}

fn is_png_xmp(chunk: &PngChunk) -> bool {
    chunk.kind() == *b"iTXt" && chunk.contents().starts_with(XMP_PNG_KEYWORD)
}

fn is_jpeg_xmp(segment: &JpegSegment) -> bool {
    segment.marker() == markers::APP1 && segment.contents().starts_with(XMP_JPEG_HEADER)
}

/// The XMP packet of a PNG, JPEG or TIFF, if it has one.
pub fn read_xmp(encoded: &[u8]) -> Option<String> {
    if crate::tiff_xmp::is_tiff(encoded) {
        return crate::tiff_xmp::read(encoded);
    }
    let bytes = Bytes::copy_from_slice(encoded);
    if encoded.starts_with(b"\x89PNG") {
        let png = Png::from_bytes(bytes).ok()?;
        let chunk = png.chunks().iter().find(|c| is_png_xmp(c))?;
        let contents = chunk.contents();
        // Skip keyword NUL flag method, then the two NUL-terminated strings.
        let mut rest = contents.get(XMP_PNG_KEYWORD.len() + 3..)?;
        for _ in 0..2 {
            let nul = rest.iter().position(|&b| b == 0)?;
            rest = rest.get(nul + 1..)?;
        }
        String::from_utf8(rest.to_vec()).ok()
    } else if encoded.starts_with(&[0xFF, 0xD8]) {
        let jpeg = Jpeg::from_bytes(bytes).ok()?;
        let segment = jpeg.segments().iter().find(|s| is_jpeg_xmp(s))?;
        String::from_utf8(segment.contents()[XMP_JPEG_HEADER.len()..].to_vec()).ok()
    } else {
        None
    }
}

/// The first text of `<tag>…</tag>` in an XMP packet, inside `rdf:li` when there is one, or a
/// `tag="…"` attribute. Enough for the simple properties archives fill in.
fn xmp_text(xmp: &str, tag: &str) -> Option<String> {
    let unescape = |s: &str| {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&")
    };
    if let Some(start) = xmp.find(&format!("<{tag}>")) {
        let body = &xmp[start + tag.len() + 2..];
        let end = body.find(&format!("</{tag}>"))?;
        let body = &body[..end];
        let text = match body.find("<rdf:li") {
            Some(li) => {
                let li = &body[li..];
                let open = li.find('>')? + 1;
                let close = li.find("</rdf:li>")?;
                &li[open..close]
            }
            None => body,
        };
        let text = unescape(text.trim());
        return (!text.is_empty()).then_some(text);
    }
    let attribute = format!("{tag}=\"");
    let start = xmp.find(&attribute)? + attribute.len();
    let end = xmp[start..].find('"')?;
    let text = unescape(&xmp[start..start + end]);
    (!text.is_empty()).then_some(text)
}

/// The descriptive fields of an original (JPEG or PNG; EXIF first, then XMP). Other formats,
/// and files without them, give none.
pub fn descriptive_fields(original: &[u8]) -> Descriptive {
    let mut fields = Descriptive::default();
    let bytes = Bytes::copy_from_slice(original);
    let exif = if original.starts_with(&[0xFF, 0xD8]) {
        Jpeg::from_bytes(bytes).ok().and_then(|j| j.exif())
    } else if original.starts_with(b"\x89PNG") {
        Png::from_bytes(bytes).ok().and_then(|p| p.exif())
    } else {
        None
    };
    if let Some(raw) = exif {
        if let Ok(exif) = exif::Reader::new().read_raw(raw.to_vec()) {
            let text = |tag: exif::Tag| {
                exif.get_field(tag, exif::In::PRIMARY)
                    .and_then(|f| match &f.value {
                        exif::Value::Ascii(parts) => parts
                            .first()
                            .map(|p| String::from_utf8_lossy(p).trim().to_string())
                            .filter(|s| !s.is_empty()),
                        _ => None,
                    })
            };
            fields.description = text(exif::Tag::ImageDescription);
            fields.creator = text(exif::Tag::Artist);
            fields.rights = text(exif::Tag::Copyright);
            fields.date_taken = text(exif::Tag::DateTimeOriginal);
        }
    }
    if let Some(xmp) = read_xmp(original) {
        fields.title = fields.title.or_else(|| xmp_text(&xmp, "dc:title"));
        fields.description = fields
            .description
            .or_else(|| xmp_text(&xmp, "dc:description"));
        fields.creator = fields.creator.or_else(|| xmp_text(&xmp, "dc:creator"));
        fields.rights = fields.rights.or_else(|| xmp_text(&xmp, "dc:rights"));
        fields.date_taken = fields
            .date_taken
            .or_else(|| xmp_text(&xmp, "photoshop:DateCreated"));
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provenance() -> Provenance {
        Provenance {
            model: "tinct-mini".into(),
            model_sha256: "0ed7bf6bbdb0b1ca".into(),
            input_size: 512,
            preset: "portrait".into(),
            software: "Tinct 0.1.0".into(),
            created: "2026-11-28T12:00:00Z".into(),
            original_sha256: "ab".repeat(32),
            original_name: "Harbour <1931> & boats.tif".into(),
            carried: Descriptive {
                title: Some("Harbour, 1931".into()),
                ..Default::default()
            },
            correction: None,
        }
    }

    #[test]
    fn a_corrected_version_says_so_in_words_and_keeps_the_hints() {
        let mut record = provenance();
        record.correction = Some(CorrectionRecord {
            summary: "3 hints, strength 80 %".into(),
            json:
                r##"{"strength":0.8,"hints":[{"x":0.5,"y":0.5,"radius":0.01,"srgb":"#2e7d32"}]}"##
                    .into(),
            corrected_by: "Ada <curator>".into(),
            corrects: "0190-job".into(),
        });
        let xmp = record.xmp();
        assert!(xmp.contains(
            "<tinct:Label>AI-assisted colorization; colours corrected by a person: 3 hints, strength 80 %</tinct:Label>"
        ));
        assert!(xmp.contains("<tinct:CorrectedBy>Ada &lt;curator&gt;</tinct:CorrectedBy>"));
        assert!(xmp.contains("&quot;srgb&quot;:&quot;#2e7d32&quot;"));
        assert_eq!(
            xmp_text(&xmp, "tinct:Corrects").as_deref(),
            Some("0190-job")
        );
        // Without a correction the label is the plain one.
        assert!(provenance()
            .xmp()
            .contains("<tinct:Label>AI-assisted colorization</tinct:Label>"));
    }

    #[test]
    fn xmp_round_trips_through_png_jpeg_and_tiff_without_touching_pixels() {
        let image =
            image::RgbImage::from_fn(40, 30, |x, y| image::Rgb([x as u8 * 6, y as u8 * 8, 90]));
        for format in [
            image::ImageFormat::Png,
            image::ImageFormat::Jpeg,
            image::ImageFormat::Tiff,
        ] {
            let mut encoded = Vec::new();
            image::DynamicImage::ImageRgb8(image.clone())
                .write_to(&mut std::io::Cursor::new(&mut encoded), format)
                .unwrap();
            let xmp = provenance().xmp();
            let tagged = embed_xmp(encoded.clone(), &xmp).unwrap();
            assert_eq!(
                read_xmp(&tagged).as_deref(),
                Some(xmp.as_str()),
                "{format:?}"
            );
            let before = image::load_from_memory(&encoded).unwrap().to_rgb8();
            let after = image::load_from_memory(&tagged).unwrap().to_rgb8();
            assert_eq!(before, after, "{format:?}: the pixels are the same");
            // Embedding again replaces the packet.
            let other = xmp.replace("Harbour, 1931", "Quay, 1932");
            let again = embed_xmp(tagged.clone(), &other).unwrap();
            assert_eq!(read_xmp(&again).as_deref(), Some(other.as_str()));
            let after = image::load_from_memory(&again).unwrap().to_rgb8();
            assert_eq!(before, after, "{format:?}: the pixels are the same");
        }
        // A TIFF cut off inside its directory (written last) is refused, not misread.
        let mut tiff = Vec::new();
        image::DynamicImage::ImageRgb8(image.clone())
            .write_to(
                &mut std::io::Cursor::new(&mut tiff),
                image::ImageFormat::Tiff,
            )
            .unwrap();
        let cut = tiff[..tiff.len() - 20].to_vec();
        assert!(embed_xmp(cut, &"x".repeat(50)).is_err());
        assert!(embed_xmp(b"GIF89a".to_vec(), "x").is_err());
    }

    #[test]
    fn values_are_escaped_and_descriptive_fields_come_back_from_xmp() {
        let xmp = provenance().xmp();
        assert!(xmp.contains("Harbour &lt;1931&gt; &amp; boats.tif"));
        assert!(xmp.contains(DIGITAL_SOURCE_TYPE));
        assert_eq!(xmp_text(&xmp, "dc:title").as_deref(), Some("Harbour, 1931"));
        assert_eq!(
            xmp_text(&xmp, "tinct:OriginalFileName").as_deref(),
            Some("Harbour <1931> & boats.tif")
        );
        assert_eq!(xmp_text(&xmp, "dc:rights"), None);
    }
}
