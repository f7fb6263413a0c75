#include "dobj/store/partition_move.hpp"

#include <iterator>

#include "dobj/core/error.hpp"
#include "dobj/core/names.hpp"
#include "dobj/store/database.hpp"
#include "shard_map_sql.hpp"

namespace dobj::store {
namespace {

// The per-object tables a move carries, how their rows find their object, and the columns that
// name processes of the source (they mean nothing in the target).
struct MovedTable {
  const char* table;
  const char* class_column;
  const char* id_column;
  const char* dropped;  // "- 'column'" terms
};
// dobj.objects first: the others refer to it.
constexpr MovedTable kMovedTables[] = {
    {"dobj.objects", "class", "id", "- 'owner'"},
    {"dobj.alarms", "class", "id", "- 'claimed_by' - 'claimed_until'"},
    {"dobj.idempotency", "class", "id", ""},
    {"dobj.outbox", "sender_class", "sender_id", ""},
    {"dobj.outbox_seq", "class", "id", ""},
    {"dobj.dead_alarms", "class", "id", ""},
    {"dobj.dead_messages", "sender_class", "sender_id", ""},
    {"dobj.commit_audit", "class", "id", ""},
};

std::string of_range(const MovedTable& t) {
  return std::string("(t.") + t.class_column + ", t." + t.id_column +
         ") IN (SELECT class, id FROM dobj.objects WHERE p BETWEEN $1 AND $2)";
}

// The range's objects in `tx`'s database: class, id, schema_name.
pqxx::result range_objects(pqxx::transaction_base& tx, const MovePlan& plan,
                           const char* suffix = "") {
  return tx.exec_params(std::string("SELECT class, id, schema_name FROM dobj.objects "
                                    "WHERE p BETWEEN $1 AND $2 ORDER BY class, id") +
                            suffix,
                        plan.first, plan.last);
}

// Deletes the range's objects and every row that refers to them (the referring tables first).
// Returns how many objects went.
std::size_t delete_range(pqxx::transaction_base& tx, const MovePlan& plan) {
  std::size_t objects = 0;
  for (auto it = std::rbegin(kMovedTables); it != std::rend(kMovedTables); ++it) {
    // dobj.objects comes last: the other tables find the range's rows through it.
    bool is_objects = std::next(it) == std::rend(kMovedTables);
    auto rows =
        tx.exec_params(std::string("DELETE FROM ") + it->table + " t WHERE " +
                           (is_objects ? std::string("t.p BETWEEN $1 AND $2") : of_range(*it)),
                       plan.first, plan.last);
    if (is_objects) objects = static_cast<std::size_t>(rows.affected_rows());
  }
  return objects;
}

// The move's row in the map: `assignments` set.
void set_move_state(pqxx::connection& control, const MovePlan& plan, const char* what,
                    const std::string& assignments) {
  with_storage_errors(control, what, [&] {
    pqxx::work tx(control);
    tx.exec_params0("UPDATE dobj.storage_shards SET " + assignments +
                        " WHERE first_partition = $1 AND last_partition = $2 AND name = $3",
                    plan.first, plan.last, plan.target);
    tx.commit();
  });
}

void refuse(const std::string& why) {
  throw Error(ErrorCode::kBadRequest, why);
}

std::string range_text(int first, int last) {
  return std::to_string(first) + "-" + std::to_string(last);
}

}  // namespace

MovePlan begin_move(pqxx::connection& control, int first, int last, const std::string& target) {
  return with_storage_errors(control, "starting the move", [&] {
    pqxx::work tx(control);
    tx.exec0("LOCK TABLE dobj.storage_shards IN EXCLUSIVE MODE");
    shard_map_sql::check_partition_range(tx, first, last);
    auto target_url = shard_map_sql::shard_url(tx, target);
    if (!target_url) {
      refuse("no storage shard is named '" + target + "' (dobj shards add makes one)");
    }
    MovePlan plan;
    plan.first = first;
    plan.last = last;
    plan.target = target;
    plan.target_url = *target_url;
    auto overlapping = tx.exec_params(
        "SELECT first_partition, last_partition, name, state, coalesce(source, '') "
        "FROM dobj.storage_shards "
        "WHERE int4range(first_partition, last_partition, '[]') && int4range($1, $2, '[]') "
        "ORDER BY first_partition",
        first, last);
    auto source_url = [&](const std::string& name) {
      return name == "control" ? std::string() : shard_map_sql::shard_url(tx, name).value();
    };
    if (overlapping.empty()) {
      plan.source = "control";
    } else if (overlapping.size() > 1) {
      refuse("partitions " + range_text(first, last) +
             " lie in more than one place: move each place's part on its own");
    } else {
      const auto& r = overlapping[0];
      int r_first = r[0].as<int>(), r_last = r[1].as<int>();
      auto r_name = r[2].as<std::string>();
      auto r_state = r[3].as<std::string>();
      if (r_state != "serving") {
        if (r_first == first && r_last == last && r_name == target) {
          plan.source = r[4].as<std::string>();
          plan.source_url = source_url(plan.source);
          plan.state = r_state;
          return plan;  // resumed
        }
        refuse("partitions " + range_text(r_first, r_last) + " are being moved to " + r_name +
               ": finish that move first (dobj shards move " + range_text(r_first, r_last) + " " +
               r_name + ")");
      }
      if (first < r_first || last > r_last) {
        refuse("partitions " + range_text(first, last) +
               " lie in more than one place: move each place's part on its own");
      }
      if (r_name == target) refuse("partitions " + range_text(first, last) + " are in " + target);
      plan.source = r_name;
      // The source keeps what lies either side of the range.
      tx.exec_params0("DELETE FROM dobj.storage_shards WHERE first_partition = $1", r_first);
      auto keep = [&](int a, int b) {
        if (a > b) return;
        tx.exec_params0(
            "INSERT INTO dobj.storage_shards (first_partition, last_partition, name) "
            "VALUES ($1, $2, $3)",
            a, b, r_name);
      };
      keep(r_first, first - 1);
      keep(last + 1, r_last);
    }
    plan.source_url = source_url(plan.source);
    plan.state = "copying";
    tx.exec_params0(
        "INSERT INTO dobj.storage_shards (first_partition, last_partition, name, state, source) "
        "VALUES ($1, $2, $3, 'copying', $4)",
        first, last, target, plan.source);
    tx.commit();
    return plan;
  });
}

bool range_unserved(pqxx::connection& control, pqxx::connection& source, const MovePlan& plan) {
  auto count = [&](pqxx::connection& conn, const std::string& sql) {
    return with_storage_errors(conn, "watching the range's owners", [&] {
      pqxx::nontransaction tx(conn);
      return tx.exec_params1(sql, plan.first, plan.last)[0].as<std::int64_t>();
    });
  };
  const std::string live =
      " JOIN dobj.workers w ON w.id = x.owner AND w.state <> 'stopped' AND "
      "w.lease_until > now() WHERE x.p BETWEEN $1 AND $2";
  return count(control, "SELECT count(*) FROM dobj.partitions x" + live) == 0 &&
         count(source, "SELECT count(*) FROM dobj.objects x" + live) == 0;
}

void fence_source(pqxx::connection& source, const MovePlan& plan) {
  with_storage_errors(source, "fencing the range on its source", [&] {
    {
      pqxx::work tx(source);
      tx.exec_params0("UPDATE dobj.partitions SET owner = NULL WHERE p BETWEEN $1 AND $2",
                      plan.first, plan.last);
      tx.commit();
    }
    // Granted once every transaction writing dobj.objects has ended: a claim that read the old
    // owner has committed (its object is copied) or given up.
    pqxx::work tx(source);
    tx.exec0("LOCK TABLE dobj.objects IN SHARE MODE");
    tx.commit();
  });
}

std::vector<std::string> copy_rows(pqxx::connection& source, pqxx::connection& target,
                                   const MovePlan& plan, std::size_t rows_per_batch) {
  return with_storage_errors(source, "copying the range's rows", [&] {
    pqxx::work from(source);
    // Held until the target has the rows: a stale owner's commit waits here, then finds its
    // epoch gone.
    auto objects = range_objects(from, plan, " FOR UPDATE");
    std::vector<std::string> schemas;
    for (const auto& o : objects) {
      if (o[2].is_null()) continue;
      auto own = object_schema_name(o[0].as<std::string>(), o[1].as<std::string>());
      if (o[2].as<std::string>() != own) {
        from.exec0("ALTER SCHEMA " + quote_ident(o[2].as<std::string>()) + " RENAME TO " +
                   quote_ident(own));
        from.exec_params0("UPDATE dobj.objects SET schema_name = $3 WHERE class = $1 AND id = $2",
                          o[0].as<std::string>(), o[1].as<std::string>(), own);
      }
      schemas.push_back(own);
    }
    from.exec_params0(
        "UPDATE dobj.objects SET owner = NULL, epoch = epoch + 1 WHERE p BETWEEN $1 AND $2",
        plan.first, plan.last);
    with_storage_errors(target, "writing the range's rows", [&] {
      pqxx::work to(target);
      // What an earlier try left: the range is nobody's in the target until the switch.
      for (const auto& s : schemas)
        to.exec0("DROP SCHEMA IF EXISTS " + quote_ident(s) + " CASCADE");
      delete_range(to, plan);
      // Each table's rows through a cursor on the source.
      for (const auto& t : kMovedTables) {
        from.exec_params0("DECLARE moved_rows NO SCROLL CURSOR FOR SELECT (to_jsonb(t) " +
                              std::string(t.dropped) + ")::text FROM " + t.table + " t WHERE " +
                              of_range(t),
                          plan.first, plan.last);
        while (true) {
          auto batch =
              from.exec("FETCH FORWARD " + std::to_string(rows_per_batch) + " FROM moved_rows");
          if (batch.empty()) break;
          std::string json = "[";
          for (const auto& row : batch) {
            if (json.size() > 1) json += ',';
            json += row[0].c_str();
          }
          json += ']';
          to.exec_params0(std::string("INSERT INTO ") + t.table +
                              " SELECT * FROM jsonb_populate_recordset(NULL::" + t.table +
                              ", $1::jsonb)",
                          json);
        }
        from.exec0("CLOSE moved_rows");
      }
      to.commit();
    });
    from.commit();
    return schemas;
  });
}

void switch_move(pqxx::connection& control, const MovePlan& plan) {
  set_move_state(control, plan, "switching the map", "state = 'cleaning'");
}

std::size_t clean_source(pqxx::connection& source, const MovePlan& plan) {
  return with_storage_errors(source, "deleting the source's copies", [&] {
    pqxx::work tx(source);
    for (const auto& o : range_objects(tx, plan)) {
      if (o[2].is_null()) continue;
      tx.exec0("DROP SCHEMA IF EXISTS " + quote_ident(o[2].as<std::string>()) + " CASCADE");
    }
    auto gone = delete_range(tx, plan);
    tx.commit();
    return gone;
  });
}

void finish_move(pqxx::connection& control, const MovePlan& plan) {
  set_move_state(control, plan, "finishing the move", "state = 'serving', source = NULL");
}

}  // namespace dobj::store
