//! The report as a document of sections, tables, notes and charts, independent of its format;
//! `html` and `markdown` render the same document, so the two files always say the same thing.

/// A whole report: a title, a few lines under it, and its sections in order.
pub(crate) struct Doc {
    pub title: String,
    pub intro: Vec<String>,
    pub sections: Vec<Section>,
}

/// One section; `id` is its HTML anchor.
pub(crate) struct Section {
    pub id: String,
    pub title: String,
    pub blocks: Vec<Block>,
}

pub(crate) enum Block {
    /// A paragraph of plain text.
    Para(String),
    /// A one-line remark, e.g. "not measured in these runs".
    Note(String),
    Table(Table),
    Chart(Chart),
}

/// A table of plain-text cells; every row has as many cells as the header.
pub(crate) struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Every cell wraps to the page's width (a table meant to be read at a glance); otherwise
    /// short cells stay on one line and the table scrolls.
    pub wrap: bool,
}

impl Table {
    pub fn new<S: AsRef<str>>(header: &[S]) -> Self {
        Table {
            header: header.iter().map(|h| h.as_ref().to_string()).collect(),
            rows: Vec::new(),
            wrap: false,
        }
    }

    pub fn push(&mut self, row: Vec<String>) {
        debug_assert_eq!(row.len(), self.header.len(), "row width");
        self.rows.push(row);
    }
}

/// A chart: inline SVG for HTML, and the file name Markdown links to.
pub(crate) struct Chart {
    pub file: String,
    pub title: String,
    pub svg: String,
}

impl Section {
    pub fn new(id: &str, title: &str) -> Self {
        Section {
            id: id.into(),
            title: title.into(),
            blocks: Vec::new(),
        }
    }

    pub fn para(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Para(text.into()));
    }

    pub fn note(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Note(text.into()));
    }

    pub fn table(&mut self, table: Table) {
        self.blocks.push(Block::Table(table));
    }
}
