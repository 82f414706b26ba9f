//! Contact photos: a JPEG or PNG of at most [`PHOTO_BYTES_MAX`] bytes, decoded with the `image`
//! crate under decoding limits (so a small file that claims a huge picture is refused, not
//! allocated), scaled down to fit [`PHOTO_WIDTH_MAX`] × [`PHOTO_HEIGHT_MAX`] keeping its
//! proportions, and kept as PNG. Pure: bytes in, bytes out.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};

use super::ContactError;

/// Bytes of an uploaded photo at most.
pub const PHOTO_BYTES_MAX: usize = 1024 * 1024;
/// The stored photo's width at most, in pixels.
pub const PHOTO_WIDTH_MAX: u32 = 200;
/// The stored photo's height at most, in pixels.
pub const PHOTO_HEIGHT_MAX: u32 = 300;
/// Pixels on one side of an uploaded picture at most.
pub const UPLOAD_SIDE_PIXELS_MAX: u32 = 10_000;
/// Bytes the decoder may allocate at most.
pub const DECODE_BYTES_MAX: u64 = 256 * 1024 * 1024;

/// `upload` checked, decoded and scaled to fit; PNG bytes.
pub fn prepare(upload: &[u8]) -> Result<Vec<u8>, ContactError> {
    if upload.len() > PHOTO_BYTES_MAX {
        return Err(ContactError::TooLarge(format!(
            "photo: {} bytes is over the limit of {PHOTO_BYTES_MAX} bytes (1 MB)",
            upload.len()
        )));
    }
    let format = match image::guess_format(upload) {
        Ok(format @ (ImageFormat::Jpeg | ImageFormat::Png)) => format,
        _ => {
            return Err(ContactError::Unsupported(
                "photo: not a JPEG or PNG image (JPEG and PNG up to 1 MB are taken)".into(),
            ))
        }
    };
    let mut reader = ImageReader::with_format(Cursor::new(upload), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(UPLOAD_SIDE_PIXELS_MAX);
    limits.max_image_height = Some(UPLOAD_SIDE_PIXELS_MAX);
    limits.max_alloc = Some(DECODE_BYTES_MAX);
    reader.limits(limits);
    let picture = reader.decode().map_err(|e| {
        ContactError::Unsupported(format!(
            "photo: the {format:?} image cannot be decoded within {UPLOAD_SIDE_PIXELS_MAX} pixels a side: {e}"
        ))
    })?;
    let picture = if picture.width() > PHOTO_WIDTH_MAX || picture.height() > PHOTO_HEIGHT_MAX {
        picture.thumbnail(PHOTO_WIDTH_MAX, PHOTO_HEIGHT_MAX)
    } else {
        picture
    };
    let mut out = Cursor::new(Vec::new());
    picture
        .write_to(&mut out, ImageFormat::Png)
        .map_err(|e| ContactError::Unsupported(format!("photo: cannot be stored: {e}")))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let picture = image::RgbImage::from_pixel(width, height, image::Rgb([200, 10, 10]));
        let mut out = Cursor::new(Vec::new());
        picture.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_large_picture_is_scaled_to_fit_keeping_its_proportions() {
        let stored = prepare(&png(800, 400)).unwrap();
        let back = image::load_from_memory(&stored).unwrap();
        assert_eq!((back.width(), back.height()), (200, 100));
        let stored = prepare(&png(100, 900)).unwrap();
        let back = image::load_from_memory(&stored).unwrap();
        assert_eq!((back.width(), back.height()), (33, 300));
    }

    #[test]
    fn oversized_and_undecodable_uploads_are_refused() {
        assert!(matches!(
            prepare(&vec![0u8; PHOTO_BYTES_MAX + 1]),
            Err(ContactError::TooLarge(_))
        ));
        assert!(matches!(
            prepare(b"GIF89a...."),
            Err(ContactError::Unsupported(_))
        ));
        let mut broken = png(10, 10);
        broken.truncate(40);
        assert!(matches!(
            prepare(&broken),
            Err(ContactError::Unsupported(_))
        ));
    }
}
