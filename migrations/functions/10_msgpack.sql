-- Repeatable definition (migrations/functions/README.md): applied by `dobj migrate` whenever
-- this file's checksum changes, after the versioned migrations; the one place this code lives.

-- msgpack → jsonb, for operators reading stored values. Binary strings become
-- {"$bin": base64}; ext types {"$ext": type, "data": base64}; NaN and infinities null.
CREATE OR REPLACE FUNCTION dobj_admin.msgpack_uint(data bytea, pos int, n int) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  v numeric := 0;
BEGIN
  FOR i IN 0 .. n - 1 LOOP
    v := v * 256 + get_byte(data, pos + i);
  END LOOP;
  RETURN v;
END $$;

CREATE OR REPLACE FUNCTION dobj_admin.msgpack_int(data bytea, pos int, n int) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT round(CASE WHEN u >= 2::numeric ^ (8 * n - 1) THEN u - 2::numeric ^ (8 * n) ELSE u END)
  FROM (SELECT dobj_admin.msgpack_uint(data, pos, n) AS u) s
$$;

CREATE OR REPLACE FUNCTION dobj_admin.msgpack_float(data bytea, pos int, n int) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  bits numeric := dobj_admin.msgpack_uint(data, pos, n);
  mant_bits int := CASE WHEN n = 8 THEN 52 ELSE 23 END;
  exp_bits int := CASE WHEN n = 8 THEN 11 ELSE 8 END;
  bias int := CASE WHEN n = 8 THEN 1023 ELSE 127 END;
  sign int := CASE WHEN bits >= 2::numeric ^ (8 * n - 1) THEN -1 ELSE 1 END;
  rest numeric := mod(bits, 2::numeric ^ (8 * n - 1));
  e int := floor(rest / 2::numeric ^ mant_bits)::int;
  m numeric := mod(rest, 2::numeric ^ mant_bits);
BEGIN
  IF e = (2 ^ exp_bits)::int - 1 THEN
    RETURN 'null'::jsonb;
  ELSIF e = 0 THEN
    RETURN to_jsonb(sign * (m::float8 / (2::float8 ^ mant_bits)) * (2::float8 ^ (1 - bias)));
  END IF;
  RETURN to_jsonb(sign * (1 + m::float8 / (2::float8 ^ mant_bits)) * (2::float8 ^ (e - bias)));
END $$;

CREATE OR REPLACE FUNCTION dobj_admin.msgpack_decode_at(data bytea, pos int, OUT value jsonb, OUT next int)
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  b int := get_byte(data, pos);
  n int;
  hdr int := 0;
  k jsonb;
  item jsonb;
BEGIN
  next := pos + 1;
  IF b <= 127 THEN value := to_jsonb(b); RETURN;                      -- positive fixint
  ELSIF b >= 224 THEN value := to_jsonb(b - 256); RETURN;             -- negative fixint
  ELSIF b = 192 THEN value := 'null'::jsonb; RETURN;
  ELSIF b = 194 THEN value := 'false'::jsonb; RETURN;
  ELSIF b = 195 THEN value := 'true'::jsonb; RETURN;
  ELSIF b BETWEEN 204 AND 207 THEN                                    -- uint 8/16/32/64
    n := 1 << (b - 204);
    value := to_jsonb(dobj_admin.msgpack_uint(data, pos + 1, n)); next := pos + 1 + n; RETURN;
  ELSIF b BETWEEN 208 AND 211 THEN                                    -- int 8/16/32/64
    n := 1 << (b - 208);
    value := to_jsonb(dobj_admin.msgpack_int(data, pos + 1, n)); next := pos + 1 + n; RETURN;
  ELSIF b IN (202, 203) THEN                                          -- float 32/64
    n := CASE WHEN b = 202 THEN 4 ELSE 8 END;
    value := dobj_admin.msgpack_float(data, pos + 1, n); next := pos + 1 + n; RETURN;
  END IF;

  -- Length-prefixed kinds: str, bin, ext, array, map.
  IF b BETWEEN 160 AND 191 THEN n := b - 160;                         -- fixstr
  ELSIF b BETWEEN 217 AND 219 THEN hdr := 1 << (b - 217); n := dobj_admin.msgpack_uint(data, pos + 1, hdr);
  ELSIF b BETWEEN 196 AND 198 THEN hdr := 1 << (b - 196); n := dobj_admin.msgpack_uint(data, pos + 1, hdr);
  ELSIF b BETWEEN 144 AND 159 THEN n := b - 144;                      -- fixarray
  ELSIF b IN (220, 221) THEN hdr := CASE WHEN b = 220 THEN 2 ELSE 4 END; n := dobj_admin.msgpack_uint(data, pos + 1, hdr);
  ELSIF b BETWEEN 128 AND 143 THEN n := b - 128;                      -- fixmap
  ELSIF b IN (222, 223) THEN hdr := CASE WHEN b = 222 THEN 2 ELSE 4 END; n := dobj_admin.msgpack_uint(data, pos + 1, hdr);
  ELSIF b BETWEEN 212 AND 216 THEN                                    -- fixext 1..16
    n := 1 << (b - 212);
    value := jsonb_build_object('$ext', dobj_admin.msgpack_int(data, pos + 1, 1),
                                'data', encode(substring(data FROM pos + 3 FOR n), 'base64'));
    next := pos + 2 + n; RETURN;
  ELSIF b BETWEEN 199 AND 201 THEN                                    -- ext 8/16/32
    hdr := 1 << (b - 199); n := dobj_admin.msgpack_uint(data, pos + 1, hdr);
    value := jsonb_build_object('$ext', dobj_admin.msgpack_int(data, pos + 1 + hdr, 1),
                                'data', encode(substring(data FROM pos + 3 + hdr FOR n), 'base64'));
    next := pos + 2 + hdr + n; RETURN;
  ELSE
    RAISE EXCEPTION 'invalid msgpack byte % at offset %', b, pos;
  END IF;
  next := pos + 1 + hdr;

  IF b BETWEEN 160 AND 191 OR b BETWEEN 217 AND 219 THEN
    value := to_jsonb(convert_from(substring(data FROM next + 1 FOR n), 'UTF8'));
    next := next + n;
  ELSIF b BETWEEN 196 AND 198 THEN
    value := jsonb_build_object('$bin', encode(substring(data FROM next + 1 FOR n), 'base64'));
    next := next + n;
  ELSIF b BETWEEN 144 AND 159 OR b IN (220, 221) THEN
    value := '[]'::jsonb;
    FOR i IN 1 .. n LOOP
      SELECT d.value, d.next INTO item, next FROM dobj_admin.msgpack_decode_at(data, next) d;
      value := value || jsonb_build_array(item);
    END LOOP;
  ELSE
    value := '{}'::jsonb;
    FOR i IN 1 .. n LOOP
      SELECT d.value, d.next INTO k, next FROM dobj_admin.msgpack_decode_at(data, next) d;
      SELECT d.value, d.next INTO item, next FROM dobj_admin.msgpack_decode_at(data, next) d;
      value := value || jsonb_build_object(k #>> '{}', item);
    END LOOP;
  END IF;
END $$;

CREATE OR REPLACE FUNCTION dobj_admin.msgpack_to_jsonb(data bytea) RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT (dobj_admin.msgpack_decode_at(data, 0)).value $$;
