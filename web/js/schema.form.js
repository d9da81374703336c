import { h, nextId } from './lib/dom.js';
import { humanize } from './lib/format.js';

/**
 * Builds form controls from a processor's params JSON Schema (what GET /v1/processors returns):
 * a checkbox per boolean, a select per enum or union of constants, a number field with the
 * schema's bounds, a text field otherwise. Defaults are filled in and every description is shown
 * under its control (wired with aria-describedby). Optional params without a default start empty,
 * meaning "let the server decide", and are left out of the request.
 */
export function buildParamsForm(schema, container) {
  const props = Object.entries(schema?.properties ?? {});
  const fields = props.map(([name, prop]) => buildField(name, prop, (schema.required ?? []).includes(name)));
  container.replaceChildren(...fields.map((f) => f.el));
  container.hidden = fields.length === 0;
  return {
    /** The params to send: values that are set, typed as the schema says. */
    read() {
      const out = {};
      for (const f of fields) {
        const v = f.read();
        if (v !== undefined) out[f.name] = v;
      }
      return out;
    },
    reset() { for (const f of fields) f.reset(); },
  };
}

/** The constants of `enum` or of a union of `const`s (TypeBox's Union of Literals), else null. */
function choicesOf(prop) {
  if (Array.isArray(prop.enum)) return prop.enum;
  const alts = prop.anyOf ?? prop.oneOf;
  if (Array.isArray(alts) && alts.length && alts.every((a) => a && 'const' in a)) return alts.map((a) => a.const);
  return null;
}

/** Renders the `code` spans of a description written in Markdown style. */
export function describe(text) {
  return String(text).split('`').map((part, i) => (i % 2 ? h('code', {}, part) : part));
}

function buildField(name, prop, required) {
  const id = nextId(`param-${name}`);
  const descId = prop.description ? `${id}-desc` : undefined;
  const hasDefault = 'default' in prop;
  const optional = !hasDefault;
  const label = h('label', { for: id }, humanize(name));
  const desc = prop.description ? h('small', { id: descId, class: 'hint' }, describe(prop.description)) : null;
  const choices = choicesOf(prop);
  let control, read, reset;

  if (choices) {
    control = h('select', { id, name: `param.${name}`, 'aria-describedby': descId },
      optional ? h('option', { value: '' }, 'automatic') : null,
      choices.map((c, i) => h('option', { value: String(i) }, String(c))));
    reset = () => { control.value = hasDefault ? String(choices.findIndex((c) => c === prop.default)) : ''; };
    read = () => (control.value === '' ? undefined : choices[Number(control.value)]);
  } else if (prop.type === 'boolean') {
    control = h('input', { id, type: 'checkbox', name: `param.${name}`, 'aria-describedby': descId });
    reset = () => { control.checked = prop.default === true; };
    read = () => control.checked;
    // A checkbox reads best with its label after it.
    reset();
    return { name, el: h('div', { class: 'field field-check' }, control, label, desc), read, reset };
  } else if (prop.type === 'integer' || prop.type === 'number') {
    const min = prop.minimum ?? (prop.exclusiveMinimum !== undefined ? prop.exclusiveMinimum : undefined);
    control = h('input', {
      id, type: 'number', name: `param.${name}`, inputmode: prop.type === 'integer' ? 'numeric' : 'decimal',
      min, max: prop.maximum ?? prop.exclusiveMaximum, step: prop.type === 'integer' ? (prop.multipleOf ?? 1) : 'any',
      required: !optional && required, placeholder: optional ? 'automatic' : undefined, 'aria-describedby': descId,
    });
    reset = () => { control.value = hasDefault ? String(prop.default) : ''; };
    read = () => (control.value === '' ? undefined : Number(control.value));
  } else if (prop.type === 'string') {
    control = h('input', {
      id, type: prop.format === 'uri' ? 'url' : 'text', name: `param.${name}`, pattern: prop.pattern, maxlength: prop.maxLength,
      minlength: prop.minLength, required: !optional && required, placeholder: optional ? 'automatic' : undefined,
      'aria-describedby': descId, autocomplete: 'off', spellcheck: 'false',
    });
    reset = () => { control.value = hasDefault ? String(prop.default) : ''; };
    read = () => (control.value === '' ? undefined : control.value);
  } else {
    // Objects and arrays: JSON text, checked when read.
    control = h('textarea', { id, name: `param.${name}`, rows: 2, 'aria-describedby': descId, spellcheck: 'false' });
    reset = () => { control.value = hasDefault ? JSON.stringify(prop.default) : ''; };
    control.addEventListener('input', () => {
      try { if (control.value.trim()) JSON.parse(control.value); control.setCustomValidity(''); } catch { control.setCustomValidity('Not valid JSON'); }
    });
    read = () => (control.value.trim() === '' ? undefined : JSON.parse(control.value));
  }
  reset();
  return { name, el: h('div', { class: 'field' }, label, control, desc), read, reset };
}
