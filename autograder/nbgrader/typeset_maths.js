// Typeset the TeX of feedback pages into SVG in place, so that a page shows its maths with no script, no
// network and no file beside it (nbgrader's release_feedback hands out the .html file alone).
//
//     node typeset_maths.js MATHJAX_ES5_DIR PAGE.html [...]
//
// The delimiters are the ones the page's own MathJax configuration uses
// (templates/feedback_offline/mathjax.html.j2); once the maths is typeset, that configuration and the
// script that loads MathJax are removed from the page. Exits 1, naming the page, on the first failure.
const fs = require('fs');
const path = require('path');

const mathjaxDir = path.resolve(process.argv[2]);
const pages = process.argv.slice(3);

require(path.join(mathjaxDir, 'node-main.js')).init({
  loader: {
    paths: {mathjax: mathjaxDir},
    load: ['input/tex-full', 'output/svg', 'adaptors/liteDOM', 'a11y/assistive-mml'],
    versionWarnings: false,
  },
  tex: {inlineMath: [['$', '$'], ['\\(', '\\)']], displayMath: [['$$', '$$'], ['\\[', '\\]']],
        processEscapes: true, processEnvironments: true},
  svg: {fontCache: 'local'},  // every formula carries its own glyphs: no shared cache for a page to lose
  startup: {typeset: false},
}).then(async (MathJax) => {
  const adaptor = MathJax.startup.adaptor;
  for (const page of pages) {
    try {
      const doc = MathJax.startup.getDocument(fs.readFileSync(page, 'utf8'));
      await MathJax._.mathjax.mathjax.handleRetriesFor(() => doc.render());
      for (const script of adaptor.tags(adaptor.root(doc.document), 'script')) {
        const source = adaptor.getAttribute(script, 'src') || '';
        if (source.includes('mathjax/') || adaptor.textContent(script).includes('window.MathJax')) {
          adaptor.remove(script);
        }
      }
      adaptor.append(adaptor.head(doc.document), MathJax.svgStylesheet());
      fs.writeFileSync(page, adaptor.doctype(doc.document) + adaptor.outerHTML(adaptor.root(doc.document)));
    } catch (error) {
      console.error(`${page}: ${error.message}`);
      process.exit(1);
    }
  }
}).catch((error) => {
  console.error(`MathJax did not start from ${mathjaxDir}: ${error.message}`);
  process.exit(1);
});
