-- Wireshark dissector for the dynsub subscription-generation dialogue.
--
-- The dialogue rides in UL/DL NAS TRANSPORT as payload container type 6 ("UE parameters update
-- transparent container", TS 24.501 9.11.3.40), under NAS security. Wireshark's NAS-5GS
-- dissector shows that container as octets; this postdissector reads those octets in dynsub's
-- format (docs/protocol.md section 5) and adds a "dynsub dialogue" tree, field by field, with
-- the field names of that document. Ciphered messages hold ciphertext, so use it on the
-- plaintext trace that `dynsub ue onboard --pcap FILE` writes beside FILE, with
-- `-o nas-5gs.null_decipher:TRUE` (contrib/wireshark/README.md).
--
-- Wire format, version 1, every integer big-endian:
--   octet 0 version | octet 1 message type | fields: tag (1) | length (2) | value, in tag order

local dynsub = Proto("dynsub", "dynsub subscription-generation dialogue")

local TYPES = {
    [1] = "OFFER", [2] = "CHOICE", [3] = "KEY_REQUEST", [4] = "KEY_RESPONSE",
    [5] = "SUBSCRIPTION", [6] = "ACK", [7] = "ERROR",
}
local CAUSES = {
    [1] = "UNKNOWN_SERVICE_TYPE", [2] = "UNKNOWN_PLAN", [3] = "PLAN_NOT_FOR_SERVICE_TYPE",
    [4] = "MISSING_BILLING_INFORMATION", [5] = "KEY_CONFIRMATION_FAILED",
    [6] = "SUPI_RANGE_EXHAUSTED", [7] = "REONBOARDING_REFUSED", [8] = "MALFORMED",
    [9] = "INTERNAL",
}
local SCHEMES = { [1] = "Profile A (X25519)", [2] = "Profile B (P-256)" }

local pf = {
    version = ProtoField.uint8("dynsub.version", "Version"),
    type = ProtoField.uint8("dynsub.type", "Message type", base.DEC, TYPES),
    tag = ProtoField.uint8("dynsub.tag", "Tag"),
    length = ProtoField.uint16("dynsub.length", "Length"),
    -- OFFER
    default_service_type = ProtoField.string("dynsub.default_service_type", "Default service type"),
    default_plan = ProtoField.string("dynsub.default_plan", "Default plan"),
    offered_service_type = ProtoField.bytes("dynsub.offered_service_type", "Service type offered"),
    offered_plan = ProtoField.bytes("dynsub.offered_plan", "Plan offered"),
    name = ProtoField.string("dynsub.name", "Name"),
    snssai = ProtoField.bytes("dynsub.snssai", "S-NSSAI"),
    sst = ProtoField.uint8("dynsub.sst", "SST"),
    sd = ProtoField.bytes("dynsub.sd", "SD"),
    ambr_uplink = ProtoField.uint64("dynsub.ambr_uplink", "AMBR uplink (bit/s)"),
    ambr_downlink = ProtoField.uint64("dynsub.ambr_downlink", "AMBR downlink (bit/s)"),
    description = ProtoField.string("dynsub.description", "Description"),
    required_fields = ProtoField.string("dynsub.required_fields", "Required billing fields"),
    requires = ProtoField.string("dynsub.requires", "Required billing field"),
    allowed_service_types = ProtoField.string("dynsub.allowed_service_types",
        "Allowed service types"),
    allowed_service_type = ProtoField.string("dynsub.allowed_service_type",
        "Allowed service type"),
    -- CHOICE
    service_type = ProtoField.string("dynsub.service_type", "Service type"),
    plan = ProtoField.string("dynsub.plan", "Plan"),
    billing = ProtoField.bytes("dynsub.billing", "Billing information"),
    billing_field = ProtoField.string("dynsub.billing_field", "Field"),
    billing_value = ProtoField.string("dynsub.billing_value", "Value"),
    -- KEY_REQUEST, KEY_RESPONSE
    network_nonce = ProtoField.bytes("dynsub.network_nonce", "Network nonce"),
    ue_nonce = ProtoField.bytes("dynsub.ue_nonce", "UE nonce"),
    key_confirmation = ProtoField.bytes("dynsub.key_confirmation", "Key confirmation"),
    -- SUBSCRIPTION, ACK
    supi = ProtoField.string("dynsub.supi", "SUPI"),
    opc = ProtoField.bytes("dynsub.opc", "OPc"),
    amf = ProtoField.bytes("dynsub.amf", "AMF"),
    network_identity = ProtoField.bytes("dynsub.network_identity", "Network identity"),
    mcc = ProtoField.string("dynsub.mcc", "MCC"),
    mnc = ProtoField.string("dynsub.mnc", "MNC"),
    routing_indicator = ProtoField.string("dynsub.routing_indicator", "Routing indicator"),
    home_network_key = ProtoField.bytes("dynsub.home_network_key", "Home network key"),
    scheme = ProtoField.uint8("dynsub.scheme", "Protection scheme", base.DEC, SCHEMES),
    key_id = ProtoField.uint8("dynsub.key_id", "Key id"),
    public_key = ProtoField.bytes("dynsub.public_key", "Public key"),
    allowed_snssai = ProtoField.bytes("dynsub.allowed_snssai", "Allowed S-NSSAI"),
    ambr = ProtoField.bytes("dynsub.ambr", "AMBR"),
    names = ProtoField.bytes("dynsub.names", "Service type and plan"),
    network_key_confirmation = ProtoField.bytes("dynsub.network_key_confirmation",
        "Network key confirmation"),
    -- ERROR
    cause = ProtoField.uint8("dynsub.cause", "Dialogue cause", base.DEC, CAUSES),
    text = ProtoField.string("dynsub.text", "Text"),
    field = ProtoField.string("dynsub.field", "Field at fault"),
}
local pf_list = {}
for _, field in pairs(pf) do pf_list[#pf_list + 1] = field end
dynsub.fields = pf_list

local ef_malformed = ProtoExpert.new("dynsub.malformed", "Malformed dynsub dialogue",
    expert.group.MALFORMED, expert.severity.ERROR)
dynsub.experts = { ef_malformed }

local f_container = Field.new("nas_5gs.mm.pld_cont")
local f_container_type = Field.new("nas_5gs.mm.pld_cont_type")

-- Fields that hold a list of strings: their item shows the list, its entries go below.
local LISTS = { [pf.required_fields] = true, [pf.allowed_service_types] = true }

-- A list field's entries, comma-separated, for the item that holds them ("none": empty).
local function joined(range)
    local names, offset = {}, 0
    while offset < range:len() do
        local length = range(offset, 1):uint()
        if offset + 1 + length > range:len() then break end
        names[#names + 1] = range(offset + 1, length):string(ENC_UTF_8)
        offset = offset + 1 + length
    end
    if #names == 0 then return "none" end
    return table.concat(names, ", ")
end

local DIALOGUE_CONTAINER = 6
local VERSION = 1

-- Each field as tag | length | value; calls on_field(tag, value_range, item) for each.
local function walk(tvb, offset, tree, labels, on_field)
    local limit = tvb:len()
    while offset < limit do
        if offset + 3 > limit then
            tree:add_proto_expert_info(ef_malformed, "field header cut short")
            return false
        end
        local tag = tvb(offset, 1):uint()
        local length = tvb(offset + 1, 2):uint()
        if offset + 3 + length > limit then
            tree:add_proto_expert_info(ef_malformed,
                string.format("field %d announces %d octets, %d remain", tag, length,
                    limit - offset - 3))
            return false
        end
        local value = tvb(offset + 3, length)
        local label = labels[tag]
        if label == nil then
            tree:add_proto_expert_info(ef_malformed, string.format("unknown field %d", tag))
            return false
        end
        local item
        if LISTS[label] then
            item = tree:add(label, value, joined(value))
        else
            item = tree:add(label, value)
        end
        item:add(pf.tag, tvb(offset, 1))
        item:add(pf.length, tvb(offset + 1, 2))
        if on_field ~= nil and length > 0 then
            if on_field(tag, value, item) == false then return false end
        end
        offset = offset + 3 + length
    end
    return true
end

-- A list of strings inside one field: each as length (1 octet) | UTF-8.
local function strings(range, tree, labels)
    local offset, index = 0, 1
    while offset < range:len() do
        local length = range(offset, 1):uint()
        if offset + 1 + length > range:len() then
            tree:add_proto_expert_info(ef_malformed, "string list cut short")
            return false
        end
        local label = labels[index] or labels[#labels]
        tree:add(label, range(offset + 1, length))
        offset, index = offset + 1 + length, index + 1
    end
    return true
end

local function snssai(range, tree)
    if range:len() ~= 1 and range:len() ~= 4 then
        tree:add_proto_expert_info(ef_malformed, "S-NSSAI must be 1 or 4 octets")
        return false
    end
    tree:add(pf.sst, range(0, 1))
    if range:len() == 4 then tree:add(pf.sd, range(1, 3)) end
    return true
end

local function ambr(range, tree)
    if range:len() ~= 16 then
        tree:add_proto_expert_info(ef_malformed, "AMBR must be 16 octets")
        return false
    end
    tree:add(pf.ambr_uplink, range(0, 8))
    tree:add(pf.ambr_downlink, range(8, 8))
    return true
end

local function exact(range, tree, size, what)
    if range:len() ~= size then
        tree:add_proto_expert_info(ef_malformed,
            string.format("%s must be %d octets, got %d", what, size, range:len()))
        return false
    end
    return true
end

local function nonce(range, tree, what)
    if range:len() < 16 or range:len() > 64 then
        tree:add_proto_expert_info(ef_malformed, what .. " must be 16 to 64 octets")
        return false
    end
    return true
end

-- What each message type's tags mean, and how the values inside are read.
local MESSAGES = {
    [1] = { -- OFFER
        labels = { pf.default_service_type, pf.default_plan, pf.offered_service_type,
            pf.offered_plan },
        value = function(tag, value, item)
            if tag == 3 then
                return walk(value:tvb(), 0, item,
                    { pf.name, pf.snssai, pf.ambr, pf.description },
                    function(inner, range, sub)
                        if inner == 2 then return snssai(range, sub) end
                        if inner == 3 then return ambr(range, sub) end
                    end)
            elseif tag == 4 then
                return walk(value:tvb(), 0, item,
                    { pf.name, pf.required_fields, pf.allowed_service_types, pf.description },
                    function(inner, range, sub)
                        if inner == 2 then return strings(range, sub, { pf.requires }) end
                        if inner == 3 then
                            return strings(range, sub, { pf.allowed_service_type })
                        end
                    end)
            end
        end,
    },
    [2] = { -- CHOICE
        labels = { pf.service_type, pf.plan, pf.billing },
        value = function(tag, value, item)
            if tag == 3 then return strings(value, item, { pf.billing_field, pf.billing_value }) end
        end,
    },
    [3] = { -- KEY_REQUEST
        labels = { pf.network_nonce },
        value = function(tag, value, item) return nonce(value, item, "network nonce") end,
    },
    [4] = { -- KEY_RESPONSE
        labels = { pf.ue_nonce, pf.key_confirmation },
        value = function(tag, value, item)
            if tag == 1 then return nonce(value, item, "UE nonce") end
            return exact(value, item, 32, "key confirmation")
        end,
    },
    [5] = { -- SUBSCRIPTION
        labels = { pf.supi, pf.opc, pf.amf, pf.network_identity, pf.home_network_key,
            pf.allowed_snssai, pf.ambr, pf.names, pf.network_key_confirmation },
        value = function(tag, value, item)
            if tag == 2 then return exact(value, item, 16, "OPc") end
            if tag == 3 then return exact(value, item, 2, "AMF") end
            if tag == 4 then
                return strings(value, item, { pf.mcc, pf.mnc, pf.routing_indicator })
            end
            if tag == 5 then
                if value:len() < 3 then
                    item:add_proto_expert_info(ef_malformed, "home network key too short")
                    return false
                end
                item:add(pf.scheme, value(0, 1))
                item:add(pf.key_id, value(1, 1))
                item:add(pf.public_key, value(2))
            end
            if tag == 6 then return snssai(value, item) end
            if tag == 7 then return ambr(value, item) end
            if tag == 8 then return strings(value, item, { pf.service_type, pf.plan }) end
            if tag == 9 then return exact(value, item, 32, "network key confirmation") end
        end,
    },
    [6] = { -- ACK
        labels = { pf.supi },
    },
    [7] = { -- ERROR
        labels = { pf.cause, pf.text, pf.field },
        value = function(tag, value, item)
            if tag == 1 then return exact(value, item, 1, "cause") end
        end,
    },
}

local function dissect_dialogue(tvb, pinfo, tree)
    local root = tree:add(dynsub, tvb())
    if tvb:len() < 2 then
        root:add_proto_expert_info(ef_malformed, "too short for a dialogue payload")
        return
    end
    root:add(pf.version, tvb(0, 1))
    local kind = tvb(1, 1):uint()
    root:add(pf.type, tvb(1, 1))
    local message = MESSAGES[kind]
    if tvb(0, 1):uint() ~= VERSION or message == nil then
        root:add_proto_expert_info(ef_malformed, "unknown version or message type")
        return
    end
    root:append_text(": " .. TYPES[kind])
    pinfo.cols.info:append(" [dynsub " .. TYPES[kind] .. "]")
    walk(tvb, 2, root, message.labels, message.value)
end

function dynsub.dissector(tvb, pinfo, tree)
    local containers = { f_container() }
    local types = { f_container_type() }
    for index, container in ipairs(containers) do
        -- One container type per NAS TRANSPORT message, in the order of the containers.
        local kind = types[index] and types[index].value or nil
        if kind == DIALOGUE_CONTAINER then
            local range = container.range
            if range ~= nil and range:len() >= 2 and range(0, 1):uint() == VERSION then
                dissect_dialogue(range:tvb(), pinfo, tree)
            end
        end
    end
end

register_postdissector(dynsub)
