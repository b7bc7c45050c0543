  // editor/intercom-editor.js: the browser side of resources/intercom-editor.js, inside the
  // bundle's closure, where `lib` is nodes/lib/forms/forms.ts. The dialogs use
  // window.IntercomEditor to give every field the rule the node checks it with at deploy,
  // and to start new nodes from the editor's locale and time zone.
  var FORMS = lib.FORMS;
  /** what the editor holds for a stored password: the secret itself never comes back */
  var STORED_SECRET = '__PWRD__';

  function typeDef(type) {
    return RED.nodes.getType(type);
  }

  function text(type, key, params) {
    var d = typeDef(type);
    return d && d._ ? d._(key, params) : key;
  }

  function inputPrefix(type) {
    var d = typeDef(type);
    return d && d.category === 'config' ? 'node-config-input' : 'node-input';
  }

  /** true while `node`'s own dialog is the one in front */
  function editing(node) {
    var stack = RED.editor && RED.editor.getEditStack ? RED.editor.getEditStack() : [];
    return !!node && stack.length > 0 && stack[stack.length - 1] === node;
  }

  function inputValue(el) {
    if (el.attr('type') === 'checkbox') return el.prop('checked');
    return el.val();
  }

  /**
   * The values a rule sees: the node's own settings, or while its dialog is open what the
   * user has typed there (a server matters once the mode says client).
   */
  function valuesOf(type, node) {
    var d = typeDef(type) || {};
    var keys = Object.keys(d.defaults || {}).concat(Object.keys(d.credentials || {}));
    var out = { id: node && node.id };
    keys.forEach(function (k) {
      if (node && node[k] !== undefined) out[k] = node[k];
    });
    if (editing(node)) {
      var prefix = inputPrefix(type);
      keys.forEach(function (k) {
        var el = $('#' + prefix + '-' + k);
        if (el.length) out[k] = inputValue(el);
      });
    }
    return out;
  }

  /** The problem in the user's language, naming the field as its dialog labels it. */
  function describe(type, field, err) {
    var wording = {
      common: function (key, params) {
        return text(type, 'intercom.' + key, params);
      },
      label: function (f) {
        return text(type, type + '.label.' + f);
      },
    };
    var said = lib.describeError(err, wording);
    var named = err.params && typeof err.params.field === 'string';
    return named ? said : wording.label(field) + ': ' + said;
  }

  /** true, or what is wrong (Node-RED >= 3 shows a returned text beside the field). */
  function check(type, field, node, value, credential) {
    if (credential && value === STORED_SECRET) return true;
    var all = valuesOf(type, node);
    all[field] = value;
    var err = lib.fieldProblem(FORMS[type], field, all);
    return err ? describe(type, field, err) : true;
  }

  /** Node-RED's own check of a config node picker, which a validate function replaces. */
  function pickerCheck(prop, value) {
    if (!value || value === '_ADD_') return !prop.required;
    var n = RED.nodes.node(value);
    return !!n && (n.valid == null || n.valid);
  }

  function attach(type, props, credential) {
    var form = FORMS[type];
    if (!form) throw new Error('IntercomEditor: no rules for ' + type);
    var rules = (credential ? form.credentials : form.fields) || {};
    Object.keys(rules).forEach(function (field) {
      var prop = props[field];
      // A field whose rule takes anything keeps Node-RED's own checks (typed inputs, pickers).
      if (!prop || prop.validate || rules[field] === lib.anything) return;
      // two parameters: Node-RED (>= 3) then takes a returned text as the reason
      prop.validate = function (value, _opt) {
        var said = check(type, field, this, value, credential);
        if (said !== true || !prop.type) return said;
        return pickerCheck(prop, value);
      };
    });
    return props;
  }

  /** The region of the editor's locale: the browser's first language with one, else the likeliest for the editor's language. */
  function region() {
    var langs = (navigator.languages || []).concat([navigator.language, RED.i18n && RED.i18n.lang ? RED.i18n.lang() : '']);
    for (var i = 0; i < langs.length; i++) {
      var m = /^[a-z]{2,3}[-_]([A-Za-z]{2})\b/.exec(langs[i] || '');
      if (m) return m[1].toUpperCase();
    }
    try {
      return new Intl.Locale(langs[0] || 'en').maximize().region;
    } catch (e) {
      return undefined;
    }
  }

  function timeZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || '';
    } catch (e) {
      return '';
    }
  }

  window.IntercomEditor = {
    /** the node type's defaults, each field given its rule (what the node checks at deploy) */
    defaults: function (type, props) {
      return attach(type, props, false);
    },
    credentials: function (type, props) {
      return attach(type, props, true);
    },
    /** what is wrong with one field of a node as it stands, or true */
    check: function (type, field, node) {
      var credential = !!(FORMS[type] && FORMS[type].credentials && FORMS[type].credentials[field]);
      return check(type, field, node, valuesOf(type, node)[field], credential);
    },
    /** the number plan of the editor's region: a new whitelist starts from it */
    numberPlan: function () {
      return lib.numberPlanFor(region());
    },
    region: region,
    /** the editor's time zone: a new schedule starts in it */
    timeZone: timeZone,
  };
