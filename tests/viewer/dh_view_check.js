#!/usr/bin/env node
// SPDX-License-Identifier: GPL-2.0
//
// Loads a DHAT JSON file into the real viewer without a browser
// (FORMATS.md 1.8) and prints the text the viewer shows for it.
//
// Usage: node tests/viewer/dh_view_check.js FILE.json [metricIndex]
//
// The installed valgrind's dh_view.js is read at run time and run in a vm
// context with a tiny fake DOM (it is GPL: never copy it into this repo).
// metricIndex picks the sort metric, as the menu does; the default, 1, is
// "Total (blocks)". Any error, such as "data file contains a repeated
// location (1)", is printed as "dh_view: <message>" on stderr, exit 1.
'use strict';

const fs = require('fs');
const vm = require('vm');

const DH_VIEW_JS = '/usr/libexec/valgrind/dh_view.js';

// Just enough of a DOM node for dh_view.js.
class FakeNode {
  constructor(tagName, text) {
    this.tagName = tagName;
    this.childNodes = [];
    this.parentNode = null;
    this.className = '';
    this.classList = { contains: () => false, toggle: () => false };
    this._text = text;
    this._selected = false;
  }

  appendChild(child) {
    child.parentNode = this;
    this.childNodes.push(child);
    return child;
  }

  replaceChild(newChild, oldChild) {
    const i = this.childNodes.indexOf(oldChild);
    if (i < 0)
      throw new Error('replaceChild: not a child');
    this.childNodes[i] = newChild;
    newChild.parentNode = this;
    oldChild.parentNode = null;
    return oldChild;
  }

  cloneNode(deep) {
    const copy = new FakeNode(this.tagName, this._text);
    copy.className = this.className;
    if (deep)
      this.childNodes.forEach((c) => copy.appendChild(c.cloneNode(true)));
    return copy;
  }

  get textContent() {
    if (this._text !== undefined)
      return this._text;
    return this.childNodes.map((c) => c.textContent).join('');
  }

  set textContent(text) {
    this.childNodes = [];
    this.appendChild(new FakeNode('#text', String(text)));
  }

  // <option>: selecting one deselects its siblings, as in a <select>.
  get selected() {
    return this._selected;
  }

  set selected(on) {
    if (on && this.parentNode)
      this.parentNode.childNodes.forEach((c) => { c._selected = false; });
    this._selected = !!on;
  }

  // <select>
  get selectedIndex() {
    return Math.max(0, this.childNodes.findIndex((c) => c._selected));
  }

  set selectedIndex(i) {
    this.childNodes.forEach((c, j) => { c._selected = j === i; });
  }
}

function main(argv) {
  if (argv.length < 1 || argv.length > 2) {
    process.stderr.write(
      'usage: node dh_view_check.js FILE.json [metricIndex]\n');
    return 2;
  }
  try {
    const metric = argv.length > 1 ? Number(argv[1]) : 1;
    const text = fs.readFileSync(argv[0], 'utf8');
    const source = fs.readFileSync(DH_VIEW_JS, 'utf8');
    const document = {
      title: '',
      body: new FakeNode('body'),
      location: { search: '' },
      createElement: (tagName) => new FakeNode(tagName),
      createTextNode: (data) => new FakeNode('#text', String(data)),
    };
    const context = vm.createContext({
      document, performance, Intl, URLSearchParams,
    });

    // Its globals are `let`s: reach them through accessors added at the end.
    vm.runInContext(source + `
this.__api = {
  onLoad, buildTree, displayTree,
  set gData(v) { gData = v; },
  get gMainDiv() { return gMainDiv; },
  get gSelect() { return gSelect; },
};`, context, { filename: DH_VIEW_JS });
    const api = context.__api;

    api.onLoad();
    const nmetrics = api.gSelect.childNodes.length;
    if (!Number.isInteger(metric) || metric < 0 || metric >= nmetrics)
      throw new Error(`metric index ${argv[1]} not in 0..${nmetrics - 1}`);
    api.gSelect.selectedIndex = metric;
    api.gData = JSON.parse(text);
    api.buildTree();
    api.displayTree();
    process.stdout.write(api.gMainDiv.textContent);
    return 0;
  } catch (e) {
    process.stderr.write(`dh_view: ${e.message}\n`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
