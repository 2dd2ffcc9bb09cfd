// A compact built-in emoji list (no network fetch) and the picker used by the composer
// and for reactions. Single code points or with a variation selector only: the node
// accepts any printable reaction of up to 32 characters, and a joiner (U+200D) is not.

import { h } from "./dom.js";

const LIST = `😀 grin smile happy|😃 smile happy|😄 laugh smile|😁 beam grin|😆 laugh squint|😅 sweat laugh|🤣 rofl laugh|😂 joy tears laugh|
🙂 slight smile|🙃 upside down|😉 wink|😊 blush smile|😇 angel halo|🥰 love hearts|😍 heart eyes love|🤩 star struck|😘 kiss|😗 kissing|
😋 yum tongue|😛 tongue|😜 wink tongue|🤪 zany crazy|😝 squint tongue|🤗 hug|🤭 giggle oops|🤫 shush quiet|🤔 think hmm|🤐 zipper mouth|
🤨 raised eyebrow|😐 neutral|😑 expressionless|😶 no mouth|😏 smirk|😒 unamused|🙄 eye roll|😬 grimace|😌 relieved|😔 pensive|
😪 sleepy|🤤 drool|😴 sleep zzz|😷 mask sick|🤒 fever sick|🤕 hurt bandage|🤢 nausea|🤮 vomit|🥵 hot|🥶 cold|🥴 woozy|😵 dizzy|
🤯 mind blown|🤠 cowboy|🥳 party|😎 cool sunglasses|🤓 nerd|🧐 monocle|😕 confused|😟 worried|🙁 frown|😮 wow surprised open mouth|
😯 hushed|😲 astonished|😳 flushed|🥺 pleading|😦 frowning|😧 anguished|😨 fearful|😰 anxious sweat|😥 sad relieved|😢 cry sad|
😭 sob cry|😱 scream|😖 confounded|😣 persevere|😞 disappointed|😓 sweat|😩 weary|😫 tired|🥱 yawn|😤 triumph huff|😡 angry pout|
😠 angry|🤬 cursing|😈 devil smile|👿 imp|💀 skull dead|💩 poop|🤡 clown|👻 ghost|👽 alien|🤖 robot|😺 cat smile|😹 cat joy|
👋 wave hello bye|🤚 raised back hand|✋ hand stop|🖖 vulcan|👌 ok|🤌 pinched fingers|✌️ victory peace|🤞 fingers crossed luck|🤟 love you|
🤘 rock horns|🤙 call me|👈 point left|👉 point right|👆 point up|👇 point down|☝️ index up|👍 thumbs up yes like|👎 thumbs down no|
✊ fist|👊 punch|🤛 fist left|🤜 fist right|👏 clap applause|🙌 raise hands hooray|👐 open hands|🤲 palms up|🤝 handshake deal|
🙏 pray thanks please|✍️ write|💪 muscle strong|🧠 brain|👀 eyes look|👁️ eye|👶 baby|🧑 person|👩 woman|👨 man|🧓 older person|
❤️ heart love red|🧡 orange heart|💛 yellow heart|💚 green heart|💙 blue heart|💜 purple heart|🖤 black heart|🤍 white heart|💔 broken heart|
💕 two hearts|💞 revolving hearts|💖 sparkling heart|💯 hundred|💢 anger|💥 boom collision|💫 dizzy star|💦 sweat drops|💨 dash|
💬 speech|💭 thought|💤 zzz sleep|🔥 fire lit|✨ sparkles|⭐ star|🌟 glowing star|⚡ zap lightning|🌈 rainbow|☀️ sun|🌙 moon|
☁️ cloud|❄️ snow|☔ rain umbrella|🌊 wave sea|🌸 blossom flower|🌹 rose|🌻 sunflower|🌱 seedling|🌲 tree|🍀 clover luck|🍁 maple leaf|
🐶 dog|🐱 cat|🐭 mouse|🐰 rabbit|🦊 fox|🐻 bear|🐼 panda|🐨 koala|🐯 tiger|🦁 lion|🐮 cow|🐷 pig|🐸 frog|🐵 monkey|🐔 chicken|
🐧 penguin|🐦 bird|🦄 unicorn|🐝 bee|🦋 butterfly|🐢 turtle|🐍 snake|🐙 octopus|🐟 fish|🐬 dolphin|🐳 whale|
🍎 apple|🍌 banana|🍓 strawberry|🍉 watermelon|🍇 grapes|🍒 cherries|🍑 peach|🥑 avocado|🍕 pizza|🍔 burger|🍟 fries|🌮 taco|
🍣 sushi|🍜 noodles|🍰 cake|🎂 birthday cake|🍪 cookie|🍫 chocolate|🍿 popcorn|☕ coffee|🍵 tea|🍺 beer|🍻 cheers beers|🍷 wine|🥂 toast|
🎉 tada party celebrate|🎊 confetti|🎈 balloon|🎁 gift present|🏆 trophy|🥇 gold medal first|⚽ soccer football|🏀 basketball|🎮 game|
🎲 dice|🎯 target bullseye|🎵 music note|🎶 music notes|🎸 guitar|🎤 microphone|🎧 headphones|📷 camera|📱 phone|💻 laptop|⌨️ keyboard|
💡 idea bulb|📌 pin|📎 paperclip|📝 memo note|📅 calendar|📈 chart up|📉 chart down|🔒 lock|🔑 key|🔔 bell|🔕 mute bell|📣 megaphone|
⏰ alarm clock|⌛ hourglass|🚀 rocket launch|✈️ plane|🚗 car|🚲 bike|🏠 home house|🌍 earth world|🗺️ map|⛰️ mountain|🏖️ beach|
✅ check done yes|☑️ ballot check|✔️ check mark|❌ cross no|❎ cross box|⚠️ warning|⛔ no entry|🚫 prohibited|❓ question|❗ exclamation|
➕ plus|➖ minus|➡️ right arrow|⬅️ left arrow|⬆️ up arrow|⬇️ down arrow|🔁 repeat|🆗 ok button|🆒 cool|🆕 new|🆘 sos help|💲 dollar`;

/** Every built-in emoji with its search words, in display order. */
export const EMOJI = LIST.split("|")
  .map((entry) => entry.trim())
  .filter(Boolean)
  .map((entry) => {
    const space = entry.indexOf(" ");
    return { emoji: entry.slice(0, space), words: entry.slice(space + 1) };
  });

/** The emoji whose search words contain every word of `query` (all of them for ""). */
export function searchEmoji(query) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return EMOJI.filter((e) => words.every((w) => e.words.includes(w)));
}

/**
 * A picker: a search box and a grid of buttons. `onPick(emoji)` is called with the
 * chosen emoji; `onClose()` on Escape. The caller places and removes the element.
 */
export function emojiPicker({ label, onPick, onClose }) {
  const grid = h("div", { class: "emoji-grid", role: "group", "aria-label": label });
  const fill = (query) => {
    grid.replaceChildren(
      ...searchEmoji(query).map(({ emoji, words }) =>
        h("button", { type: "button", title: words, "aria-label": `${emoji} ${words}`, onclick: () => onPick(emoji) }, emoji),
      ),
    );
  };
  const search = h("input", {
    type: "search",
    class: "emoji-search",
    placeholder: "Search emoji",
    "aria-label": "Search emoji",
    oninput: () => fill(search.value),
  });
  const root = h("div", {
    class: "emoji-picker",
    onkeydown: (event) => {
      if (event.key === "Escape") {
        event.stopPropagation();
        onClose();
      }
    },
  }, search, grid);
  fill("");
  return root;
}
