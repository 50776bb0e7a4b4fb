-- Rendered by Mailroom (stack/attachments.py): attachments refused by what their bytes
-- are, whatever their file name or declared Content-Type says. Every MIME part counts,
-- also those of a message attached inside another (message/rfc822): Rspamd parses
-- nested messages into the same list of parts. A refused message is rejected during the
-- SMTP dialogue (554 5.7.1 and the reason below), so nothing of it is delivered.
local lua_magic = require "lua_magic"

-- Type name -> the class a refusal names, e.g. elf -> executable ('' refuses nothing).
local BLOCKED = {}
for name, label in string.gmatch({{blocked_attachments:lua}}, "([%w_]+)=([%w_]+)") do
  BLOCKED[name] = label
end

-- Leading bytes lua_magic does not recognise (Rspamd 3.4): Mach-O in either byte order,
-- 32 and 64 bit (0xFEEDFACE, 0xFEEDFACF); a script's "#!" line; RAR 1.5-4 and 5.
local OWN_MAGIC = {
  { "\254\237\250\206", "macho" }, { "\206\250\237\254", "macho" },
  { "\254\237\250\207", "macho" }, { "\207\250\237\254", "macho" },
  { "#!", "script" },
  { "Rar!\026\007", "rar" },
}

local function part_types(task, part)
  local names = {}
  local detected = lua_magic.detect_mime_part(part, task)
  if detected then
    names[#names + 1] = detected
  end
  local content = part:get_content()
  if content and #content > 0 then
    local head = content:span(1, math.min(8, #content)):str()
    for _, magic in ipairs(OWN_MAGIC) do
      if head:sub(1, #magic[1]) == magic[1] then
        names[#names + 1] = magic[2]
      end
    end
  end
  return names
end

local function refusal(name, label)
  if label == name then
    return string.format("Refused: this server does not accept %s attachments", name)
  end
  return string.format("Refused: this server does not accept %s attachments (%s found)", label, name)
end

if next(BLOCKED) then
  rspamd_config:register_symbol{
    name = "MAILROOM_BLOCKED_ATTACHMENT",
    type = "prefilter",
    priority = 9,
    group = "mailroom",
    description = "An attachment of a type this server refuses",
    callback = function(task)
      for _, part in ipairs(task:get_parts() or {}) do
        if not part:is_multipart() and not part:is_message() then
          for _, name in ipairs(part_types(task, part)) do
            local label = BLOCKED[name]
            if label then
              task:insert_result("MAILROOM_BLOCKED_ATTACHMENT", 1.0, name)
              task:set_pre_result("reject", refusal(name, label), "mailroom_attachments")
              return
            end
          end
        end
      end
    end,
  }
end
