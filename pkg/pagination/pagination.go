// Package pagination implements the list convention of every API: page from 1, pageSize
// clamped to 10..200, and the {page, pageSize, count, total, totalPages} envelope.
package pagination

const (
	MinSize     = 10
	MaxSize     = 200
	DefaultSize = 50
)

// Page is a resolved page request.
type Page struct {
	Number int // 1-based
	Size   int
}

// From resolves optional query values into a page, clamping instead of refusing: a
// client asking for 1,000 rows gets 200, as Aritma v1 documents.
func From(page, size *int32) Page {
	p := Page{Number: 1, Size: DefaultSize}
	if page != nil && *page > 1 {
		p.Number = int(*page)
	}
	if size != nil {
		p.Size = min(max(int(*size), MinSize), MaxSize)
	}
	return p
}

// Offset is the number of rows before the page.
func (p Page) Offset() int { return (p.Number - 1) * p.Size }

// Info is the list envelope's numbers.
type Info struct {
	Page, PageSize, Count, Total, TotalPages int32
}

// Describe fills the envelope for a page holding count of total rows.
func (p Page) Describe(count, total int) Info {
	pages := (total + p.Size - 1) / p.Size
	return Info{Page: int32(p.Number), PageSize: int32(p.Size), Count: int32(count), Total: int32(total), TotalPages: int32(pages)}
}
