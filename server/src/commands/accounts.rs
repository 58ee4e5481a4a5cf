//! `tinct user add|list` and `tinct token create`: accounts from the command line, so the
//! first admin exists before anyone can sign in.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use app::auth::{passwords, store, Role, Scope};

use crate::config::{Common, DatabaseArgs, TokenCreateArgs, UserAddArgs};
use crate::error::CommandError;

fn block_on<T>(
    work: impl std::future::Future<Output = Result<T, CommandError>>,
) -> Result<T, CommandError> {
    tokio::runtime::Runtime::new()
        .map_err(|e| CommandError::io("cannot start the async runtime", e))?
        .block_on(work)
}

async fn database(common: &Common, args: &DatabaseArgs) -> Result<app::db::Db, CommandError> {
    std::fs::create_dir_all(&common.data_dir)
        .map_err(|e| CommandError::io(format!("cannot create {}", common.data_dir.display()), e))?;
    crate::db::connect(args.database_url.as_deref(), &common.data_dir).await
}

fn account(e: store::AccountError) -> CommandError {
    CommandError::Invalid(e.to_string())
}

/// A password from a prompt (no echo) on a terminal, else the first line of standard input.
fn read_password() -> Result<String, CommandError> {
    if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password: ")
            .map_err(|e| CommandError::io("cannot read the password", e))
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| CommandError::io("cannot read the password from standard input", e))?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

pub fn add_user(common: &Common, args: &UserAddArgs) -> Result<ExitCode, CommandError> {
    let role = Role::parse(&args.role)
        .ok_or_else(|| CommandError::Invalid("a role is admin, staff or viewer".into()))?;
    block_on(async {
        let db = database(common, &args.database).await?;
        if args.if_no_users && store::count_users(&db).await.map_err(account)? > 0 {
            println!("Users exist already; nobody was added.");
            return Ok(ExitCode::SUCCESS);
        }
        let password = if args.generate_password {
            passwords::generate()
        } else {
            read_password()?
        };
        store::add_user(&db, &args.name, role, &password)
            .await
            .map_err(account)?;
        println!("Added {} ({}).", args.name, role.as_str());
        if args.generate_password {
            println!("Password (shown once): {password}");
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn list_users(common: &Common, args: &DatabaseArgs) -> Result<ExitCode, CommandError> {
    block_on(async {
        let db = database(common, args).await?;
        for user in store::list_users(&db).await.map_err(account)? {
            let state = if user.disabled { "disabled" } else { "active" };
            println!(
                "{}\t{}\t{}\t{}",
                user.name, user.role, state, user.created_at
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn create_token(common: &Common, args: &TokenCreateArgs) -> Result<ExitCode, CommandError> {
    let scopes = args
        .scopes
        .split(',')
        .map(|s| {
            Scope::parse(s).ok_or_else(|| {
                CommandError::Invalid(format!("{s:?} is not a scope; use submit, read or admin"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    block_on(async {
        let db = database(common, &args.database).await?;
        let user = store::list_users(&db)
            .await
            .map_err(account)?
            .into_iter()
            .find(|u| u.name.eq_ignore_ascii_case(&args.user))
            .ok_or_else(|| CommandError::Invalid(format!("there is no user {:?}", args.user)))?;
        if scopes.contains(&Scope::Admin) && user.role != "admin" {
            return Err(CommandError::Invalid(
                "only an admin's token can have the admin scope".into(),
            ));
        }
        let (token, _) = store::create_token(&db, user.id, &args.name, &scopes, args.days)
            .await
            .map_err(account)?;
        println!("{token}");
        Ok(ExitCode::SUCCESS)
    })
}
