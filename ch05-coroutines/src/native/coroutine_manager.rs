//! Native twin of `coroutine-manager` (Stacking Our Coroutines): the same `transfer` loop pipes
//! the native reader into the native writer, each seen as the chapter's trait through `Native`.

#[cfg(test)]
mod tests {
    use std::fs;
    use std::io;
    use std::pin::Pin;

    use crate::coroutine_manager::{CoroutineManager, transfer};
    use crate::native::{Native, reader, writer};
    use crate::numbers::{random_numbers, write_numbers_file};

    #[test]
    fn the_native_pipeline_copies_byte_for_byte_like_the_manager() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let input = dir.path().join("numbers.txt");
        write_numbers_file(&input, &random_numbers(1_000, 4))?;

        let native_out = dir.path().join("native.txt");
        let mut from = Native::new(reader(&input)?);
        let mut to = Native::new(writer(&native_out)?);
        assert_eq!(transfer(Pin::new(&mut from), Pin::new(&mut to))?, 1_000);

        let ours_out = dir.path().join("output.txt");
        assert_eq!(CoroutineManager::new(&input, &ours_out)?.run()?, 1_000);
        assert_eq!(fs::read(&native_out)?, fs::read(&input)?);
        assert_eq!(fs::read(&ours_out)?, fs::read(&input)?);
        Ok(())
    }

    #[test]
    fn a_bad_line_stops_the_native_pipeline_with_the_error() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let input = dir.path().join("numbers.txt");
        fs::write(&input, "1\n2\nthree\n4\n")?;
        let out = dir.path().join("out.txt");
        let mut from = Native::new(reader(&input)?);
        let mut to = Native::new(writer(&out)?);
        let error = transfer(Pin::new(&mut from), Pin::new(&mut to)).unwrap_err();
        assert!(error.to_string().contains("line 3"), "{error}");
        assert_eq!(fs::read_to_string(&out)?, "1\n2\n");
        Ok(())
    }
}
