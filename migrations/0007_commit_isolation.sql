-- One object's bad commit no longer fails its whole batch (issue "Hostile clients" 4).
-- dobj.commit_objects first commits the batch as before, in a subtransaction; if that fails
-- for any reason but the worker's lease (DOB01) or a cancel (statement timeout), it commits the
-- objects one by one, each in its own subtransaction, and reports an object whose commit failed
-- as `rejected` (with the error's text) instead of failing the others. An object that ran SQL
-- in this transaction cannot be separated from its writes, so its failure still fails the
-- whole batch (nothing of it is applied, every request gets "not applied").
ALTER FUNCTION dobj.commit_objects(bigint, text[], text[], bigint[], text[], boolean[], boolean[],
                                   boolean[], int[], int[], text[], bytea[], int[], int[], text[],
                                   int[], bigint[])
  RENAME TO commit_objects_together;

CREATE FUNCTION dobj.commit_objects(
  p_owner bigint, p_class text[], p_id text[], p_epoch bigint[], p_schema text[],
  p_has_schema boolean[], p_entered boolean[], p_delete_all boolean[],
  p_put_from int[], p_put_to int[], p_put_key text[], p_put_value bytea[],
  p_del_from int[], p_del_to int[], p_del_key text[],
  p_alarm_op int[], p_alarm_us bigint[])
RETURNS TABLE(idx int, committed boolean, schema_exists boolean, rejected text)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  done_idx int[];
  done_committed boolean[];
  done_schema boolean[];
BEGIN
  BEGIN
    SELECT array_agg(t.idx ORDER BY t.idx), array_agg(t.committed ORDER BY t.idx),
           array_agg(t.schema_exists ORDER BY t.idx)
      INTO done_idx, done_committed, done_schema
      FROM dobj.commit_objects_together(p_owner, p_class, p_id, p_epoch, p_schema, p_has_schema,
                                        p_entered, p_delete_all, p_put_from, p_put_to, p_put_key,
                                        p_put_value, p_del_from, p_del_to, p_del_key, p_alarm_op,
                                        p_alarm_us) t;
    RETURN QUERY SELECT u.i, u.c, u.s, NULL::text
                   FROM unnest(done_idx, done_committed, done_schema) AS u(i, c, s);
    RETURN;
  EXCEPTION
    WHEN SQLSTATE 'DOB01' THEN RAISE;
    WHEN OTHERS THEN
      IF coalesce(array_length(p_class, 1), 0) <= 1 AND NOT coalesce(p_entered[1], false) THEN
        idx := 1; committed := false; schema_exists := p_has_schema[1]; rejected := SQLERRM;
        RETURN NEXT;
        RETURN;
      END IF;
  END;
  FOR i IN 1 .. coalesce(array_length(p_class, 1), 0) LOOP
    BEGIN
      SELECT t.committed, t.schema_exists INTO r
        FROM dobj.commit_objects_together(
               p_owner, ARRAY[p_class[i]], ARRAY[p_id[i]], ARRAY[p_epoch[i]], ARRAY[p_schema[i]],
               ARRAY[p_has_schema[i]], ARRAY[p_entered[i]], ARRAY[p_delete_all[i]],
               ARRAY[1], ARRAY[p_put_to[i] - p_put_from[i] + 1],
               p_put_key[p_put_from[i] : p_put_to[i]], p_put_value[p_put_from[i] : p_put_to[i]],
               ARRAY[1], ARRAY[p_del_to[i] - p_del_from[i] + 1],
               p_del_key[p_del_from[i] : p_del_to[i]], ARRAY[p_alarm_op[i]],
               ARRAY[p_alarm_us[i]]) t;
      idx := i; committed := r.committed; schema_exists := r.schema_exists; rejected := NULL;
      RETURN NEXT;
    EXCEPTION
      WHEN SQLSTATE 'DOB01' THEN RAISE;
      WHEN OTHERS THEN
        -- Its SQL writes are in this transaction already: they cannot go without the rest.
        IF p_entered[i] THEN RAISE; END IF;
        idx := i; committed := false; schema_exists := p_has_schema[i]; rejected := SQLERRM;
        RETURN NEXT;
    END;
  END LOOP;
END $$;
